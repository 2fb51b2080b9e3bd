# Gatehouse — English

brand = Gatehouse
skip = Skip to content
nav-main = Main
nav-dashboard = Dashboard
nav-account = Account
nav-users = Users
nav-sign-out = Sign out
nav-sign-in = Sign in
lang-switch = Language
lang-en = English
lang-ko = 한국어

title-sign-in = Sign in
field-username = Username
field-password = Password
remember = Keep me signed in on this device for 30 days
button-sign-in = Sign in
sign-in-failed = Invalid username or password.

title-sign-out = Sign out
sign-out-question = Sign out of Gatehouse on this device? Your other devices stay signed in.
button-sign-out = Sign out
button-stay = Stay signed in

title-setup = Create the administrator
setup-intro = This link works once. The account you create here manages every other account.
username-help = 3 to 32 letters, digits, '.', '_' or '-'.
password-help = At least { $min } characters. A few unrelated words work well.
field-password-again = Password again
button-create-admin = Create administrator

title-signup = Create an account
button-create-account = Create account
signup-have-account = Already have an account?

title-dashboard = Dashboard
signed-in-as = Signed in as
field-role = Role
dashboard-account-link = Your account and devices

title-account = Your account
last-sign-in = Last sign-in
never = never
account-created = Account created
change-password-link = Change your password
devices-title = Your devices
devices-intro = Each sign-in is one session. Sign out any device you do not recognise, then change your password.
col-device = Device
col-address = Address
col-signed-in = Signed in
col-last-active = Last active
col-action = Action
unknown-browser = unknown browser
this-device = this device
button-sign-out-here = Sign out here
button-sign-out-that = Sign out that device
button-sign-out-others = Sign out everywhere else

title-password = Change your password
password-forced = Your password was set by an administrator. Choose your own before you continue.
field-current-password = Current password
field-new-password = New password
field-new-password-again = New password again
button-change-password = Change password and sign out other devices

title-accounts = Accounts
filter-prefix = Username starts with
filter-status = Status
any = any
status-active = active
status-disabled = disabled
status-locked = locked
button-search = Search
new-account-link = New account
audit-link = Audit log
col-username = Username
col-role = Role
col-status = Status
col-last-sign-in = Last sign-in
col-created = Created
locked-until = locked until { $when }
no-accounts = No accounts match.
next-page = Next page

title-new-account = New account
field-initial-password = Initial password
initial-password-help = At least { $min } characters. The owner must replace it at first sign-in.

title-admin-user = Account { $name }
failed-in-a-row = Failed sign-ins in a row
must-change = Must change password
yes = yes
no = no
created = Created
actions = Actions
button-change-role = Change role
button-enable = Enable account
button-disable = Disable account and end its sessions
button-unlock = Unlock (clear failed sign-ins)
button-end-all = End all sessions
reset-help = At least { $min } characters. Ends every session; the owner must choose a new one at next sign-in.
button-reset = Reset password
delete-confirm-label = Type { $name } to delete this account for good
button-delete = Delete account
active-sessions = Active sessions
col-started = Started
col-last-seen = Last seen
button-end-session = End session
no-sessions = No active sessions.
recent-events = Recent events
all-events-for = All events for { $name }

col-when = When
col-event = Event
col-account = Account
col-by = By
col-detail = Detail
no-events = No events.

title-audit = Audit log
filter-account = Account
filter-event = Event
button-filter = Filter
older-events = Older events

error-status = Error { $status }
error-home = Go to the start page
error-title-400 = Bad request
error-title-401 = Sign-in required
error-title-403 = Forbidden
error-title-404 = Page not found
error-title-409 = Conflict
error-title-413 = Request too large
error-title-415 = Form type not accepted
error-title-422 = Form could not be read
error-title-429 = Too many attempts
error-title-503 = Temporarily unavailable
error-title-other = Something went wrong
error-message-400 = The request could not be understood.
error-message-401 = You need to sign in to see this page.
error-message-403 = You are not allowed to do this. If you submitted a form, reload the page and try again.
error-message-404 = There is nothing at this address.
error-message-409 = The change collides with something that already exists. Reload the page and try again.
error-message-413 = What was sent is larger than this site accepts.
error-message-415 = This site accepts forms only as ordinary (URL-encoded) form data, not as file uploads (multipart).
error-message-422 = The form was incomplete or malformed. Reload the page and try again.
error-message-429 = Too many attempts. Wait a little and try again.
error-message-503 = The service is temporarily unavailable. Try again in a moment.
error-message-other = An unexpected error occurred. It has been logged.

notice-signed_out = You have been signed out.
notice-setup_done = The administrator account is ready. Sign in with it.
notice-signed_up = Your account is ready. Sign in with it.
notice-must_change = Choose a new password before you continue.
notice-password_changed = Your password has been changed. Your other devices have been signed out.
notice-session_revoked = That device has been signed out.
notice-others_revoked = All your other devices have been signed out.
notice-created = The account has been created. Its owner must choose a new password at first sign-in.
notice-role_changed = The role has been changed.
notice-disabled = The account has been disabled and all its sessions ended.
notice-enabled = The account has been enabled.
notice-unlocked = The account has been unlocked.
notice-password_reset = The password has been reset and all sessions ended. Its owner must choose a new one at next sign-in.
notice-sessions_revoked = All sessions of the account have been ended.
notice-deleted = The account has been deleted.

msg-username-length = A username has 3 to 32 characters.
msg-username-chars = A username may contain only letters a–z, digits, '.', '_' and '-'.
msg-password-short = Choose a password of at least { $min } characters. A few unrelated words make a long password easy to remember.
msg-password-long = Choose a password of at most { $max } characters.
msg-password-username = Choose a password that does not contain your username.
msg-password-common = This password is too common or too easy to guess. Add a few words that do not form a known phrase, or avoid repeated characters and keyboard patterns.
msg-password-mismatch = The two passwords do not match.
msg-new-password-mismatch = The two new passwords do not match.
msg-current-wrong = Your current password is not right.
msg-password-same = Choose a password different from the current one.
msg-username-unavailable = That username is not available. Choose another.
msg-username-taken = That username is taken.
msg-choose-role = Choose the role user or admin.
msg-self-action = You cannot disable, demote, delete or reset the password of your own account here. Ask another administrator, or change your password on your account page.
msg-not-admin = You are no longer an administrator.
msg-last-admin = This is the last active administrator. Make another account an administrator first.
msg-delete-confirm = Type the account's username exactly to confirm the deletion.

title-second-factor = Second factor
title-recovery-codes = Your recovery codes
title-reauth = Confirm it's you
second-factor-link = Second factor
tfa-on-since = On since { $when }
tfa-off = Off
recovery-codes-left = Recovery codes left
recovery-last-used = A recovery code last used
tfa-required-help = Your account must keep a second factor. If you lose your phone, use a recovery code, or ask an administrator to reset it.
tfa-forced = Your account needs a second factor before you continue.
tfa-intro = Add a one-time code app (any TOTP app: a password manager, Google Authenticator, Aegis…). After your password, you will type the code it shows.
tfa-step-scan = Scan this code with the app,
tfa-step-type = or type this key into it:
tfa-qr-label = QR code of the key for your authenticator app
field-code = The 6-digit code the app shows now
field-code-or-recovery = Code from your app, or a recovery code
button-enable-2fa = Turn on the second factor
button-new-recovery-codes = Make new recovery codes
button-disable-2fa = Turn off the second factor
button-reset-2fa = Reset the second factor
button-codes-saved = I have saved them
button-continue = Continue
button-confirm = Confirm
recovery-codes-intro = Each code signs you in once if you do not have your phone. Keep them somewhere safe, away from the phone: they are shown only now.
second-step-intro = Type the code your authenticator app shows, or one of your recovery codes.
tries-left = { $n ->
    [one] One try left.
   *[other] { $n } tries left.
}
reauth-intro = This action needs your password again, and your second factor if you have one.
msg-code-wrong = That code is not right, or it was used already.
msg-reauth-failed = That is not right. Type your password (and a code, if asked) again.
msg-2fa-required = Your account must keep a second factor.
notice-must_enrol = Add a second factor before you continue.
notice-2fa_disabled = The second factor is off.
notice-2fa_reset = The second factor has been removed and all sessions ended. The account sets up a new one at its next sign-in.
notice-second_step_over = That sign-in is over (too long, or too many wrong codes). Sign in again.

title-groups = Groups
title-new-group = New group
groups-intro = Groups decide who may use which app behind forward auth (the `access_rules` setting). Tokens carry them as the `groups` claim.
col-group = Group
col-members = Members
no-groups = No groups yet.
field-group-name = Name
group-name-help = 1 to 64 letters, digits, '.', '_' and '-'.
button-create-group = Create group
button-delete-group = Delete { $name }
button-remove-from-group = Remove from { $name }
button-add-to-group = Add
field-add-to-group = Add to group
no-group-membership = In no group.
manage-groups = Manage groups
nav-groups = Groups
msg-group-name = A group name has 1 to 64 letters, digits, '.', '_' and '-'.
msg-group-taken = A group of that name exists.
notice-groups_changed = The groups have been changed. They take effect at the account's next request.
notice-group_created = The group has been created.
notice-group_deleted = The group has been deleted.

title-email = Your e-mail address
title-email-verify = Confirm your e-mail address
title-forgot = Forgotten password
title-reset = Choose a new password
title-invite = Choose your password
field-email = E-mail address
field-new-email = New e-mail address
field-login = Username or e-mail address
email-link = E-mail address
email-current = Your address is
email-verified = verified
email-unverified = not verified yet
email-none = No e-mail address.
email-help = We send a link to this address; it is used only when you follow the link. Password resets and security notices go to it.
email-verify-intro = Press the button to confirm that this address is yours.
button-verify-email = Confirm my address
button-send-link = Send the link
button-set-password = Set the password
back-to-account = Back to your account
back-to-sign-in = Back to sign-in
forgot-link = Forgot your password?
forgot-intro = Type your username or e-mail address. If an account with a confirmed address matches, we send it a link to choose a new password.
forgot-done = If an account with a confirmed address matches what you typed, a link is on its way. It works once, for 30 minutes. Check your spam folder if it does not arrive.
reset-intro = Choose a new password for
invite-intro = Choose the password for your new account
invite-help = Give an address and leave the password empty to send an invitation: the person chooses the password through a link (7 days).
invitation = Invitation
invitation-pending = Sent, waiting until { $when }
button-resend-invitation = Send the invitation again
button-cancel-invitation = Cancel the invitation
msg-email-invalid = Type an e-mail address like name@example.com.
msg-email-ascii = Use only letters A–Z, digits and symbols before the @: mail cannot be delivered to other characters there.
msg-name-or-email-taken = That username or e-mail address is taken.
msg-invite-or-password = Give either an initial password or an e-mail address to invite, not both.
notice-email_sent = We sent a link to the new address. Follow it to confirm the address.
notice-email_verified = Your e-mail address is confirmed.
notice-password_reset_done = Your password is changed and every session has ended. Sign in with the new password.
notice-invitation_accepted = Your password is set. Sign in with it.
notice-invited = The account has been created and the invitation sent.
notice-invitation_resent = A new invitation link has been sent; the old one no longer works.
notice-invitation_cancelled = The invitation has been cancelled and the account deleted.

mail-footer = This message was sent by Gatehouse at { $site } about your account. You cannot reply to it.
mail-verify_email-subject = Confirm your e-mail address
mail-verify_email-body = Hello { $name },

    To confirm that this address belongs to your account, open this link and press the button:

    { $link }

    The link works once, for 24 hours. If you did not ask for this, ignore this message.
mail-email_changed-subject = Your e-mail address is being changed
mail-email_changed-body = Hello { $name },

    Someone signed in to your account asked to use a new e-mail address: { $new }

    If that was not you, change your password now and sign out every device from your account page: { $link }
mail-reset_link-subject = Choose a new password
mail-reset_link-body = Hello { $name },

    Someone asked to reset the password of your account. To choose a new one, open:

    { $link }

    The link works once, for 30 minutes. If you did not ask for this, ignore this message: your password stays as it is.
mail-password_reset-subject = Your password was reset
mail-password_reset-body = Hello { $name },

    The password of your account was set through a reset link (from { $ip }). Every session has been signed out.

    If that was not you, ask an administrator for help at once.
mail-password_changed-subject = Your password was changed
mail-password_changed-body = Hello { $name },

    The password of your account was changed (from { $ip }).

    If that was not you, reset your password and check your devices: { $link }
mail-invitation-subject = You are invited to Gatehouse
mail-invitation-body = Hello { $name },

    An administrator made you an account. To choose its password, open:

    { $link }

    The link works once, for 7 days.
mail-2fa_enabled-subject = A second factor was added
mail-2fa_enabled-body = Hello { $name },

    A second factor (an authenticator app) was added to your account (from { $ip }).

    If that was not you, reset your password and ask an administrator to reset the second factor: { $link }
mail-2fa_disabled-subject = The second factor was removed
mail-2fa_disabled-body = Hello { $name },

    The second factor of your account was removed (from { $ip }). Signing in now needs only the password.

    If that was not you, change your password now: { $link }
mail-new_device-subject = New sign-in to your account
mail-new_device-body = Hello { $name },

    Your account was signed in from a new device: { $device }, address { $ip }.

    If that was you, nothing to do. If not, change your password now and sign that device out: { $link }
mail-refresh_reuse-subject = A stolen session was stopped
mail-refresh_reuse-body = Hello { $name },

    A sign-in token of your account was used twice (last from { $ip }), which happens when it has been copied. That session has been ended on every device that shared it.

    What to do: sign in again, change your password, and check the devices listed on your account page: { $link }
mail-account_disabled-subject = Your account was disabled
mail-account_disabled-body = Hello { $name },

    An administrator disabled your account; you cannot sign in until it is enabled again.

    If you think this is a mistake, ask your administrator.

mail-address_in_use-subject = Someone tried to use your e-mail address
mail-address_in_use-body = Hello { $name },

    Someone signed in to another account asked to use this e-mail address, which belongs to your account. Nothing was changed: the address stays yours.

    If that was you, this address cannot be used for two accounts. Otherwise you can ignore this mail.

device-name = { $browser } on { $os }
device-raw = What the browser sent
notice-language_saved = Your mail will be written in the language you chose.
field-mail-language = Language of your mail
button-save-language = Save language
msg-choose-language = Choose one of the languages offered.

title-passkeys = Passkeys
passkeys-link = Passkeys
passkeys-intro = A passkey signs you in with your device's screen lock or a security key, without a password. It cannot be phished: it only works on this site. It also counts as your second factor.
passkeys-forced = Your account needs a second factor: add a passkey here, or set up an authenticator app.
passkeys-none = No passkeys yet.
passkeys-need-script = Adding a passkey needs a browser with passkeys and this page's script.
passkey-add-title = Add a passkey
col-passkey = Passkey
col-added = Added
col-last-used = Last used
col-synced = Kept
passkey-synced = Synced (backed up by a password manager or your platform)
passkey-device-bound = On one device only
field-passkey-name = Name of the new passkey
field-passkey-new-name = New name
passkey-name-help = Something you will recognise, such as "Laptop" or "Security key".
passkey-default-name = Passkey
button-add-passkey = Add a passkey
button-rename = Rename
button-remove-passkey = Remove
passkey-browser-refused = The browser made no passkey answer (it was cancelled, or timed out). Try again.
msg-passkey-refused = That passkey could not be added: the request expired or was already used. Try again.
msg-passkey-taken = That passkey is already registered.
msg-passkey-last = This is the last way your account could sign in (or its last required second factor): add another before removing it.
msg-passkey-wrong = That passkey was not accepted.
passkey-sign-in-failed = That passkey could not sign you in.
button-passkey-sign-in = Sign in with a passkey
button-passkey-second-step = Use a passkey instead
button-reauth-passkey = Confirm with a passkey instead of a code
button-show-password = Show password
field-recovery-code = Recovery code
tfa-or-passkey = Or add a passkey instead
recovery-codes-passkey = Keep these recovery codes: with one of them you can still sign in if you lose your passkey.
notice-passkey_added = The passkey was added.
notice-passkey_renamed = The passkey was renamed.
notice-passkey_removed = The passkey was removed.
methods-title = How you sign in
method-password-on = Password: set
method-password-off = Password: none
method-totp-on = Authenticator app: on
method-totp-off = Authenticator app: off
method-passkeys = { $n ->
    [0] Passkeys: none
    [one] Passkeys: one
   *[other] Passkeys: { $n }
}
method-recovery = { $n ->
    [0] Recovery codes: none left
    [one] Recovery codes: one left
   *[other] Recovery codes: { $n } left
}
mail-passkey_added-subject = A passkey was added
mail-passkey_added-body = Hello { $name },

    A passkey ("{ $device }") was added to your account (from { $ip }). It can sign in to your account without a password.

    If that was not you, change your password and remove the passkey now: { $link }
mail-passkey_removed-subject = A passkey was removed
mail-passkey_removed-body = Hello { $name },

    The passkey "{ $device }" was removed from your account (from { $ip }).

    If that was not you, change your password now: { $link }
## OpenID Connect provider
title-oidc-continue = Continuing to the application
title-oidc-consent = Allow access?
title-oidc-apps = Apps you allowed
oidc-consent-intro = This application asks to sign you in:
oidc-scope-openid = Your account identifier
oidc-scope-profile = Your username
oidc-scope-email = Your e-mail address
oidc-scope-groups = The groups you belong to
oidc-scope-offline_access = Staying signed in while you are away
button-allow = Allow
button-deny = Deny
button-revoke-app = Revoke
oidc-apps-none = You have not allowed any application.
oidc-app-name = Application
oidc-app-scope = What it may learn
oidc-app-actions = Actions
oidc-unknown-client = This application is not registered here.
oidc-bad-redirect = The application sent a return address that is not registered for it.
oidc-bad-decision = Choose Allow or Deny.
title-oidc-clients = Applications (OpenID Connect)
title-oidc-new-client = Register an application
title-oidc-client = Application
oidc-client-kind = Kind
oidc-client-public = Public (no secret, PKCE required)
oidc-client-confidential = Confidential (with a secret)
oidc-no-clients = No application is registered.
oidc-field-redirect-uris = Redirect URIs (one per line)
oidc-uri-help = Exact addresses: https, or http to 127.0.0.1 or [::1] (any port).
oidc-field-logout-uris = Post-logout redirect URIs (one per line)
oidc-field-backchannel = Back-channel logout URI (optional)
oidc-field-groups = Allowed groups (empty: everyone)
oidc-field-alg = ID-token algorithm
oidc-field-trusted = First-party application: no consent page
oidc-field-pkce = Require PKCE
oidc-field-public = Public client (a browser or mobile app: no secret)
button-create-client = Register
oidc-secret-once = Copy the secret now: it is shown only once.
oidc-edit-client = Settings
button-save = Save
button-rotate-secret = New secret
button-delete-client = Delete application
