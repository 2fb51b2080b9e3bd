ALTER TABLE changes DROP COLUMN detail;
DROP TABLE group_members;
DROP TABLE groups;
