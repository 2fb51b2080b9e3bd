//! Groups of accounts, for the apps behind forward auth: names, membership, and the list
//! an access token carries. Changes go through `admin` (rules, audit, change feed).

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{group_members, groups};
use crate::db::DbConn;
use crate::error::Result;
use crate::i18n::Message;

/// 1–64 characters of letters, digits, '.', '_' and '-'.
pub fn validate_name(name: &str) -> Result<(), Message> {
    let n = name.chars().count();
    if (1..=64).contains(&n)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(())
    } else {
        Err(Message::new("msg-group-name"))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub created_at: i64,
}

/// Every group with its member count, by name.
pub fn list(conn: &mut DbConn) -> Result<Vec<(Group, i64)>> {
    let all: Vec<Group> = groups::table
        .order(groups::name_key.asc())
        .select(Group::as_select())
        .load(conn)?;
    let counts: Vec<(i64, i64)> = group_members::table
        .group_by(group_members::group_id)
        .select((group_members::group_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(all
        .into_iter()
        .map(|g| {
            let n = counts
                .iter()
                .find(|(id, _)| *id == g.id)
                .map_or(0, |(_, n)| *n);
            (g, n)
        })
        .collect())
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Group>> {
    Ok(groups::table
        .find(id)
        .select(Group::as_select())
        .first(conn)
        .optional()?)
}

/// The names of an account's groups, sorted (as tokens carry them).
pub fn of_account(conn: &mut DbConn, account_id: i64) -> Result<Vec<String>> {
    Ok(group_members::table
        .inner_join(groups::table)
        .filter(group_members::account_id.eq(account_id))
        .order(groups::name_key.asc())
        .select(groups::name)
        .load(conn)?)
}

/// The groups of an account, and the ones it could join.
pub fn membership(conn: &mut DbConn, account_id: i64) -> Result<(Vec<Group>, Vec<Group>)> {
    let mine: Vec<i64> = group_members::table
        .filter(group_members::account_id.eq(account_id))
        .select(group_members::group_id)
        .load(conn)?;
    let (member, other) = groups::table
        .order(groups::name_key.asc())
        .select(Group::as_select())
        .load::<Group>(conn)?
        .into_iter()
        .partition(|g| mine.contains(&g.id));
    Ok((member, other))
}

/// Members of a group.
pub fn members(conn: &mut DbConn, group_id: i64) -> Result<Vec<i64>> {
    Ok(group_members::table
        .filter(group_members::group_id.eq(group_id))
        .select(group_members::account_id)
        .load(conn)?)
}

/// Makes a group; `Ok(None)` when the name is taken (in any case).
pub fn create(conn: &mut DbConn, name: &str, now: i64) -> Result<Option<Group>> {
    let key = name.to_ascii_lowercase();
    let inserted = diesel::insert_into(groups::table)
        .values((
            groups::name.eq(name),
            groups::name_key.eq(&key),
            groups::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    Ok(groups::table
        .filter(groups::name_key.eq(key))
        .select(Group::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(id))).execute(conn)?;
    diesel::delete(groups::table.find(id)).execute(conn)?;
    Ok(())
}

/// Adds a member; false when it was one already.
pub fn add(conn: &mut DbConn, group_id: i64, account_id: i64, now: i64) -> Result<bool> {
    let n = crate::on_backend!(&mut *conn, |c| diesel::insert_into(group_members::table)
        .values((
            group_members::group_id.eq(group_id),
            group_members::account_id.eq(account_id),
            group_members::added_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Removes a member; false when it was not one.
pub fn remove(conn: &mut DbConn, group_id: i64, account_id: i64) -> Result<bool> {
    Ok(diesel::delete(
        group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::account_id.eq(account_id)),
    )
    .execute(conn)?
        == 1)
}
