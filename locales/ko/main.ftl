# Gatehouse — 한국어

brand = Gatehouse
skip = 본문으로 건너뛰기
nav-main = 주 메뉴
nav-dashboard = 대시보드
nav-account = 내 계정
nav-users = 사용자
nav-sign-out = 로그아웃
nav-sign-in = 로그인
lang-switch = 언어
lang-en = English
lang-ko = 한국어

title-sign-in = 로그인
field-username = 사용자 이름
field-password = 비밀번호
remember = 이 기기에서 30일 동안 로그인 상태 유지
button-sign-in = 로그인
sign-in-failed = 사용자 이름 또는 비밀번호가 올바르지 않습니다.

title-sign-out = 로그아웃
sign-out-question = 이 기기에서 Gatehouse에서 로그아웃할까요? 다른 기기는 로그인 상태로 유지됩니다.
button-sign-out = 로그아웃
button-stay = 로그인 유지

title-setup = 관리자 계정 만들기
setup-intro = 이 링크는 한 번만 사용할 수 있습니다. 여기서 만드는 계정은 다른 모든 계정을 관리합니다.
username-help = 영문자, 숫자, '.', '_', '-'로 3~32자.
password-help = { $min }자 이상. 서로 관련 없는 단어 몇 개를 이어 쓰면 좋습니다.
field-password-again = 비밀번호 확인
button-create-admin = 관리자 만들기

title-signup = 계정 만들기
button-create-account = 계정 만들기
signup-have-account = 이미 계정이 있으신가요?

title-dashboard = 대시보드
signed-in-as = 로그인한 사용자
field-role = 역할
dashboard-account-link = 내 계정과 기기

title-account = 내 계정
last-sign-in = 마지막 로그인
never = 없음
account-created = 계정 생성일
change-password-link = 비밀번호 변경
devices-title = 내 기기
devices-intro = 로그인할 때마다 세션이 하나 생깁니다. 모르는 기기가 있으면 로그아웃시킨 뒤 비밀번호를 바꾸세요.
col-device = 기기
col-address = 주소
col-signed-in = 로그인 시각
col-last-active = 마지막 활동
col-action = 작업
unknown-browser = 알 수 없는 브라우저
this-device = 현재 기기
button-sign-out-here = 여기서 로그아웃
button-sign-out-that = 이 기기 로그아웃
button-sign-out-others = 다른 모든 기기에서 로그아웃

title-password = 비밀번호 변경
password-forced = 관리자가 정한 비밀번호입니다. 계속하기 전에 직접 비밀번호를 정하세요.
field-current-password = 현재 비밀번호
field-new-password = 새 비밀번호
field-new-password-again = 새 비밀번호 확인
button-change-password = 비밀번호를 바꾸고 다른 기기에서 로그아웃

title-accounts = 계정
filter-prefix = 사용자 이름 시작 문자
filter-status = 상태
any = 전체
status-active = 활성
status-disabled = 비활성
status-locked = 잠김
button-search = 검색
new-account-link = 새 계정
audit-link = 감사 로그
col-username = 사용자 이름
col-role = 역할
col-status = 상태
col-last-sign-in = 마지막 로그인
col-created = 생성일
locked-until = { $when }까지 잠김
no-accounts = 일치하는 계정이 없습니다.
next-page = 다음 페이지

title-new-account = 새 계정
field-initial-password = 초기 비밀번호
initial-password-help = { $min }자 이상. 계정 주인은 처음 로그인할 때 이 비밀번호를 바꿔야 합니다.

title-admin-user = 계정 { $name }
failed-in-a-row = 연속 로그인 실패
must-change = 비밀번호 변경 필요
yes = 예
no = 아니요
created = 생성일
actions = 작업
button-change-role = 역할 변경
button-enable = 계정 활성화
button-disable = 계정을 비활성화하고 세션 종료
button-unlock = 잠금 해제 (로그인 실패 기록 삭제)
button-end-all = 모든 세션 종료
reset-help = { $min }자 이상. 모든 세션이 종료되며, 계정 주인은 다음 로그인 때 새 비밀번호를 정해야 합니다.
button-reset = 비밀번호 재설정
delete-confirm-label = 이 계정을 영구히 삭제하려면 { $name }을(를) 입력하세요
button-delete = 계정 삭제
active-sessions = 활성 세션
col-started = 시작
col-last-seen = 마지막 접속
button-end-session = 세션 종료
no-sessions = 활성 세션이 없습니다.
recent-events = 최근 이벤트
all-events-for = { $name }의 모든 이벤트

col-when = 시각
col-event = 이벤트
col-account = 계정
col-by = 수행자
col-detail = 내용
no-events = 이벤트가 없습니다.

title-audit = 감사 로그
filter-account = 계정
filter-event = 이벤트
button-filter = 필터
older-events = 이전 이벤트

error-status = 오류 { $status }
error-home = 첫 페이지로 가기
error-title-400 = 잘못된 요청
error-title-401 = 로그인 필요
error-title-403 = 접근 거부
error-title-404 = 페이지를 찾을 수 없음
error-title-409 = 충돌
error-title-413 = 요청이 너무 큼
error-title-415 = 받을 수 없는 양식 형식
error-title-422 = 양식을 읽을 수 없음
error-title-429 = 시도 횟수 초과
error-title-503 = 일시적으로 사용할 수 없음
error-title-other = 문제가 발생했습니다
error-message-400 = 요청을 이해할 수 없습니다.
error-message-401 = 이 페이지를 보려면 로그인해야 합니다.
error-message-403 = 이 작업을 할 권한이 없습니다. 양식을 제출했다면 페이지를 새로 고친 뒤 다시 시도하세요.
error-message-404 = 이 주소에는 아무것도 없습니다.
error-message-409 = 이미 있는 것과 충돌하는 변경입니다. 페이지를 새로 고친 뒤 다시 시도하세요.
error-message-413 = 보낸 내용이 이 사이트가 받을 수 있는 크기보다 큽니다.
error-message-415 = 이 사이트는 양식을 일반(URL 인코딩) 양식 데이터로만 받으며, 파일 업로드(multipart) 형식은 받지 않습니다.
error-message-422 = 양식이 불완전하거나 잘못되었습니다. 페이지를 새로 고친 뒤 다시 시도하세요.
error-message-429 = 시도가 너무 많습니다. 잠시 기다린 뒤 다시 시도하세요.
error-message-503 = 서비스를 일시적으로 사용할 수 없습니다. 잠시 후 다시 시도하세요.
error-message-other = 예기치 않은 오류가 발생했습니다. 기록되었습니다.

notice-signed_out = 로그아웃되었습니다.
notice-setup_done = 관리자 계정이 준비되었습니다. 그 계정으로 로그인하세요.
notice-signed_up = 계정이 준비되었습니다. 로그인하세요.
notice-must_change = 계속하기 전에 새 비밀번호를 정하세요.
notice-password_changed = 비밀번호가 바뀌었습니다. 다른 기기는 로그아웃되었습니다.
notice-session_revoked = 그 기기는 로그아웃되었습니다.
notice-others_revoked = 다른 모든 기기가 로그아웃되었습니다.
notice-created = 계정을 만들었습니다. 계정 주인은 처음 로그인할 때 새 비밀번호를 정해야 합니다.
notice-role_changed = 역할이 바뀌었습니다.
notice-disabled = 계정이 비활성화되었고 모든 세션이 종료되었습니다.
notice-enabled = 계정이 활성화되었습니다.
notice-unlocked = 계정 잠금이 해제되었습니다.
notice-password_reset = 비밀번호가 재설정되었고 모든 세션이 종료되었습니다. 계정 주인은 다음 로그인 때 새 비밀번호를 정해야 합니다.
notice-sessions_revoked = 이 계정의 모든 세션이 종료되었습니다.
notice-deleted = 계정이 삭제되었습니다.

msg-username-length = 사용자 이름은 3~32자입니다.
msg-username-chars = 사용자 이름에는 영문자 a–z, 숫자, '.', '_', '-'만 쓸 수 있습니다.
msg-password-short = { $min }자 이상의 비밀번호를 정하세요. 서로 관련 없는 단어 몇 개를 이으면 길어도 기억하기 쉽습니다.
msg-password-long = { $max }자 이하의 비밀번호를 정하세요.
msg-password-username = 사용자 이름이 들어가지 않은 비밀번호를 정하세요.
msg-password-common = 너무 흔하거나 추측하기 쉬운 비밀번호입니다. 잘 알려진 문구가 아닌 단어를 몇 개 더하거나, 반복 문자와 키보드 배열 패턴을 피하세요.
msg-password-mismatch = 두 비밀번호가 일치하지 않습니다.
msg-new-password-mismatch = 두 새 비밀번호가 일치하지 않습니다.
msg-current-wrong = 현재 비밀번호가 올바르지 않습니다.
msg-password-same = 현재 비밀번호와 다른 비밀번호를 정하세요.
msg-username-unavailable = 그 사용자 이름은 쓸 수 없습니다. 다른 이름을 고르세요.
msg-username-taken = 이미 사용 중인 사용자 이름입니다.
msg-choose-role = 역할로 user 또는 admin을 고르세요.
msg-self-action = 여기에서는 자기 계정을 비활성화, 강등, 삭제하거나 비밀번호를 재설정할 수 없습니다. 다른 관리자에게 요청하거나 계정 페이지에서 비밀번호를 바꾸세요.
msg-not-admin = 더 이상 관리자가 아닙니다.
msg-last-admin = 마지막 활성 관리자입니다. 먼저 다른 계정을 관리자로 만드세요.
msg-delete-confirm = 삭제하려면 계정의 사용자 이름을 정확히 입력하세요.

title-second-factor = 2단계 인증
title-recovery-codes = 복구 코드
title-reauth = 본인 확인
second-factor-link = 2단계 인증
tfa-on-since = { $when }부터 사용 중
tfa-off = 사용 안 함
recovery-codes-left = 남은 복구 코드
recovery-last-used = 복구 코드 마지막 사용
tfa-required-help = 이 계정은 2단계 인증을 유지해야 합니다. 휴대폰을 잃어버리면 복구 코드를 쓰거나 관리자에게 초기화를 요청하세요.
tfa-forced = 계속하려면 이 계정에 2단계 인증을 추가해야 합니다.
tfa-intro = 일회용 코드 앱(TOTP 앱: 비밀번호 관리자, Google Authenticator, Aegis 등)을 추가하세요. 비밀번호 다음에 앱에 나오는 코드를 입력하게 됩니다.
tfa-step-scan = 앱으로 이 코드를 스캔하거나,
tfa-step-type = 이 키를 앱에 입력하세요:
tfa-qr-label = 인증 앱에 넣을 키의 QR 코드
field-code = 앱에 지금 표시된 6자리 코드
field-code-or-recovery = 앱의 코드 또는 복구 코드
button-enable-2fa = 2단계 인증 켜기
button-new-recovery-codes = 새 복구 코드 만들기
button-disable-2fa = 2단계 인증 끄기
button-reset-2fa = 2단계 인증 초기화
button-codes-saved = 저장했습니다
button-continue = 계속
button-confirm = 확인
recovery-codes-intro = 휴대폰이 없을 때 각 코드로 한 번 로그인할 수 있습니다. 휴대폰과 떨어진 안전한 곳에 보관하세요. 지금 한 번만 표시됩니다.
second-step-intro = 인증 앱에 표시된 코드나 복구 코드 중 하나를 입력하세요.
tries-left = { $n ->
   *[other] { $n }번 더 시도할 수 있습니다.
}
reauth-intro = 이 작업에는 비밀번호와, 설정했다면 2단계 인증 코드가 다시 필요합니다.
msg-code-wrong = 코드가 맞지 않거나 이미 사용되었습니다.
msg-reauth-failed = 맞지 않습니다. 비밀번호(요청되면 코드도)를 다시 입력하세요.
msg-2fa-required = 이 계정은 2단계 인증을 유지해야 합니다.
notice-must_enrol = 계속하려면 2단계 인증을 추가하세요.
notice-2fa_disabled = 2단계 인증이 꺼졌습니다.
notice-2fa_reset = 2단계 인증이 제거되고 모든 세션이 종료되었습니다. 다음 로그인 때 새로 설정합니다.
notice-second_step_over = 이 로그인은 끝났습니다(시간 초과 또는 잘못된 코드가 너무 많음). 다시 로그인하세요.

title-groups = 그룹
title-new-group = 새 그룹
groups-intro = 그룹은 포워드 인증 뒤의 어떤 앱을 누가 쓸 수 있는지 정합니다(`access_rules` 설정). 토큰에는 `groups` 클레임으로 들어갑니다.
col-group = 그룹
col-members = 구성원
no-groups = 아직 그룹이 없습니다.
field-group-name = 이름
group-name-help = 영문자, 숫자, '.', '_', '-' 1~64자.
button-create-group = 그룹 만들기
button-delete-group = { $name } 삭제
button-remove-from-group = { $name }에서 빼기
button-add-to-group = 추가
field-add-to-group = 그룹에 추가
no-group-membership = 속한 그룹이 없습니다.
manage-groups = 그룹 관리
nav-groups = 그룹
msg-group-name = 그룹 이름은 영문자, 숫자, '.', '_', '-' 1~64자입니다.
msg-group-taken = 같은 이름의 그룹이 있습니다.
notice-groups_changed = 그룹이 바뀌었습니다. 계정의 다음 요청부터 적용됩니다.
notice-group_created = 그룹을 만들었습니다.
notice-group_deleted = 그룹을 삭제했습니다.

title-email = 이메일 주소
title-email-verify = 이메일 주소 확인
title-forgot = 비밀번호 찾기
title-reset = 새 비밀번호 정하기
title-invite = 비밀번호 정하기
field-email = 이메일 주소
field-new-email = 새 이메일 주소
field-login = 사용자 이름 또는 이메일 주소
email-link = 이메일 주소
email-current = 현재 주소:
email-verified = 확인됨
email-unverified = 아직 확인되지 않음
email-none = 이메일 주소가 없습니다.
email-help = 이 주소로 링크를 보냅니다. 링크를 열어야 주소가 사용됩니다. 비밀번호 재설정과 보안 알림이 이 주소로 갑니다.
email-verify-intro = 이 주소가 본인의 것임을 확인하려면 버튼을 누르세요.
button-verify-email = 내 주소 확인
button-send-link = 링크 보내기
button-set-password = 비밀번호 설정
back-to-account = 계정으로 돌아가기
back-to-sign-in = 로그인으로 돌아가기
forgot-link = 비밀번호를 잊으셨나요?
forgot-intro = 사용자 이름이나 이메일 주소를 입력하세요. 확인된 주소가 있는 계정과 일치하면 새 비밀번호를 정하는 링크를 보냅니다.
forgot-done = 입력한 내용과 일치하고 확인된 주소가 있는 계정이 있으면 링크를 보냈습니다. 링크는 30분 동안 한 번만 쓸 수 있습니다. 메일이 오지 않으면 스팸함을 확인하세요.
reset-intro = 새 비밀번호를 정할 계정:
invite-intro = 새 계정의 비밀번호를 정하세요:
invite-help = 주소를 입력하고 비밀번호를 비워 두면 초대장을 보냅니다. 받는 사람이 링크로 비밀번호를 정합니다(7일).
invitation = 초대
invitation-pending = 보냄, { $when }까지 유효
button-resend-invitation = 초대장 다시 보내기
button-cancel-invitation = 초대 취소
msg-email-invalid = name@example.com 같은 이메일 주소를 입력하세요.
msg-email-ascii = @ 앞에는 영문자(A–Z), 숫자와 기호만 쓸 수 있습니다. 다른 문자로는 메일을 보낼 수 없습니다.
msg-name-or-email-taken = 그 사용자 이름이나 이메일 주소는 이미 쓰이고 있습니다.
msg-invite-or-password = 초기 비밀번호와 초대할 이메일 주소 중 하나만 입력하세요.
notice-email_sent = 새 주소로 링크를 보냈습니다. 링크를 열어 주소를 확인하세요.
notice-email_verified = 이메일 주소가 확인되었습니다.
notice-password_reset_done = 비밀번호가 바뀌었고 모든 세션이 끝났습니다. 새 비밀번호로 로그인하세요.
notice-invitation_accepted = 비밀번호가 설정되었습니다. 로그인하세요.
notice-invited = 계정을 만들고 초대장을 보냈습니다.
notice-invitation_resent = 새 초대 링크를 보냈습니다. 이전 링크는 더 이상 쓸 수 없습니다.
notice-invitation_cancelled = 초대를 취소하고 계정을 삭제했습니다.

mail-footer = 이 메일은 { $site }의 Gatehouse가 계정에 관해 보낸 것입니다. 회신할 수 없습니다.
mail-verify_email-subject = 이메일 주소를 확인하세요
mail-verify_email-body = { $name }님, 안녕하세요.

    이 주소가 계정의 것임을 확인하려면 아래 링크를 열고 버튼을 누르세요.

    { $link }

    링크는 24시간 동안 한 번만 쓸 수 있습니다. 요청하지 않았다면 이 메일을 무시하세요.
mail-email_changed-subject = 이메일 주소 변경 요청
mail-email_changed-body = { $name }님, 안녕하세요.

    로그인한 누군가가 계정에 새 이메일 주소를 쓰도록 요청했습니다: { $new }

    본인이 아니라면 지금 비밀번호를 바꾸고 계정 페이지에서 모든 기기를 로그아웃하세요: { $link }
mail-reset_link-subject = 새 비밀번호 정하기
mail-reset_link-body = { $name }님, 안녕하세요.

    누군가 계정의 비밀번호 재설정을 요청했습니다. 새 비밀번호를 정하려면 아래 링크를 여세요.

    { $link }

    링크는 30분 동안 한 번만 쓸 수 있습니다. 요청하지 않았다면 이 메일을 무시하세요. 비밀번호는 그대로입니다.
mail-password_reset-subject = 비밀번호가 재설정되었습니다
mail-password_reset-body = { $name }님, 안녕하세요.

    재설정 링크로 계정의 비밀번호가 설정되었습니다({ $ip }에서). 모든 세션이 로그아웃되었습니다.

    본인이 아니라면 바로 관리자에게 도움을 요청하세요.
mail-password_changed-subject = 비밀번호가 바뀌었습니다
mail-password_changed-body = { $name }님, 안녕하세요.

    계정의 비밀번호가 바뀌었습니다({ $ip }에서).

    본인이 아니라면 비밀번호를 재설정하고 기기 목록을 확인하세요: { $link }
mail-invitation-subject = Gatehouse 초대
mail-invitation-body = { $name }님, 안녕하세요.

    관리자가 계정을 만들었습니다. 비밀번호를 정하려면 아래 링크를 여세요.

    { $link }

    링크는 7일 동안 한 번만 쓸 수 있습니다.
mail-2fa_enabled-subject = 2단계 인증이 추가되었습니다
mail-2fa_enabled-body = { $name }님, 안녕하세요.

    계정에 2단계 인증(인증 앱)이 추가되었습니다({ $ip }에서).

    본인이 아니라면 비밀번호를 재설정하고 관리자에게 2단계 인증 초기화를 요청하세요: { $link }
mail-2fa_disabled-subject = 2단계 인증이 해제되었습니다
mail-2fa_disabled-body = { $name }님, 안녕하세요.

    계정의 2단계 인증이 해제되었습니다({ $ip }에서). 이제 비밀번호만으로 로그인할 수 있습니다.

    본인이 아니라면 지금 비밀번호를 바꾸세요: { $link }
mail-new_device-subject = 새 기기에서 로그인했습니다
mail-new_device-body = { $name }님, 안녕하세요.

    새 기기에서 계정에 로그인했습니다: { $device }, 주소 { $ip }.

    본인이라면 할 일이 없습니다. 아니라면 지금 비밀번호를 바꾸고 그 기기를 로그아웃하세요: { $link }
mail-refresh_reuse-subject = 도용된 세션을 막았습니다
mail-refresh_reuse-body = { $name }님, 안녕하세요.

    계정의 로그인 토큰이 두 번 쓰였습니다(마지막은 { $ip }에서). 토큰이 복사되었을 때 생기는 일입니다. 그 세션은 공유하던 모든 기기에서 끝났습니다.

    할 일: 다시 로그인하고 비밀번호를 바꾼 뒤 계정 페이지의 기기 목록을 확인하세요: { $link }
mail-account_disabled-subject = 계정이 비활성화되었습니다
mail-account_disabled-body = { $name }님, 안녕하세요.

    관리자가 계정을 비활성화했습니다. 다시 활성화될 때까지 로그인할 수 없습니다.

    잘못된 일이라고 생각되면 관리자에게 문의하세요.

mail-address_in_use-subject = 누군가 이 이메일 주소를 쓰려고 했습니다
mail-address_in_use-body = { $name }님, 안녕하세요.

    다른 계정에 로그인한 누군가가 이 계정의 이메일 주소를 쓰도록 요청했습니다. 바뀐 것은 없으며 주소는 그대로 이 계정의 것입니다.

    본인이 요청했다면, 한 주소는 두 계정에 쓸 수 없습니다. 그렇지 않다면 이 메일을 무시하세요.

device-name = { $os }의 { $browser }
device-raw = 브라우저가 보낸 값
notice-language_saved = 선택한 언어로 메일을 보내 드립니다.
field-mail-language = 메일 언어
button-save-language = 언어 저장
msg-choose-language = 제공되는 언어 중 하나를 고르세요.

title-passkeys = 패스키
passkeys-link = 패스키
passkeys-intro = 패스키는 비밀번호 없이 기기의 화면 잠금이나 보안 키로 로그인하게 해 줍니다. 이 사이트에서만 작동하므로 피싱당하지 않습니다. 2단계 인증으로도 인정됩니다.
passkeys-forced = 계정에 2단계 인증이 필요합니다. 여기서 패스키를 추가하거나 인증 앱을 설정하세요.
passkeys-none = 아직 패스키가 없습니다.
passkeys-need-script = 패스키를 추가하려면 패스키를 지원하는 브라우저와 이 페이지의 스크립트가 필요합니다.
passkey-add-title = 패스키 추가
col-passkey = 패스키
col-added = 추가한 때
col-last-used = 마지막 사용
col-synced = 보관
passkey-synced = 동기화됨(비밀번호 관리자나 플랫폼에 백업)
passkey-device-bound = 한 기기에만 있음
field-passkey-name = 새 패스키의 이름
field-passkey-new-name = 새 이름
passkey-name-help = "노트북", "보안 키"처럼 알아볼 수 있는 이름.
passkey-default-name = 패스키
button-add-passkey = 패스키 추가
button-rename = 이름 바꾸기
button-remove-passkey = 삭제
passkey-browser-refused = 브라우저가 패스키 응답을 주지 않았습니다(취소되었거나 시간이 지났습니다). 다시 시도하세요.
msg-passkey-refused = 패스키를 추가하지 못했습니다. 요청이 만료되었거나 이미 사용되었습니다. 다시 시도하세요.
msg-passkey-taken = 이미 등록된 패스키입니다.
msg-passkey-last = 계정에 로그인할 수 있는 마지막 방법(또는 필수 2단계 인증의 마지막 수단)입니다. 다른 방법을 먼저 추가한 뒤 삭제하세요.
msg-passkey-wrong = 그 패스키는 받아들여지지 않았습니다.
passkey-sign-in-failed = 그 패스키로 로그인할 수 없습니다.
button-passkey-sign-in = 패스키로 로그인
button-passkey-second-step = 대신 패스키 사용
button-reauth-passkey = 코드 대신 패스키로 확인
button-show-password = 비밀번호 보기
field-recovery-code = 복구 코드
tfa-or-passkey = 또는 대신 패스키를 추가하세요
recovery-codes-passkey = 이 복구 코드를 보관하세요. 패스키를 잃어버려도 복구 코드로 로그인할 수 있습니다.
notice-passkey_added = 패스키를 추가했습니다.
notice-passkey_renamed = 패스키 이름을 바꿨습니다.
notice-passkey_removed = 패스키를 삭제했습니다.
methods-title = 로그인 방법
method-password-on = 비밀번호: 설정됨
method-password-off = 비밀번호: 없음
method-totp-on = 인증 앱: 켜짐
method-totp-off = 인증 앱: 꺼짐
method-passkeys = { $n ->
    [0] 패스키: 없음
   *[other] 패스키: { $n }개
}
method-recovery = { $n ->
    [0] 복구 코드: 남은 것 없음
   *[other] 복구 코드: { $n }개 남음
}
mail-passkey_added-subject = 패스키가 추가되었습니다
mail-passkey_added-body = { $name }님, 안녕하세요.

    계정에 패스키("{ $device }")가 추가되었습니다({ $ip }에서). 이 패스키로 비밀번호 없이 계정에 로그인할 수 있습니다.

    본인이 아니라면 지금 비밀번호를 바꾸고 패스키를 삭제하세요: { $link }
mail-passkey_removed-subject = 패스키가 삭제되었습니다
mail-passkey_removed-body = { $name }님, 안녕하세요.

    계정에서 패스키 "{ $device }"가 삭제되었습니다({ $ip }에서).

    본인이 아니라면 지금 비밀번호를 바꾸세요: { $link }
## OpenID Connect provider
title-oidc-continue = 애플리케이션으로 계속하는 중
title-oidc-consent = 접근을 허용할까요?
title-oidc-apps = 허용한 앱
oidc-consent-intro = 이 애플리케이션이 로그인을 요청합니다:
oidc-scope-openid = 계정 식별자
oidc-scope-profile = 사용자 이름
oidc-scope-email = 이메일 주소
oidc-scope-groups = 속한 그룹
oidc-scope-offline_access = 자리를 비운 동안에도 로그인 유지
button-allow = 허용
button-deny = 거부
button-revoke-app = 취소
oidc-apps-none = 허용한 애플리케이션이 없습니다.
oidc-app-name = 애플리케이션
oidc-app-scope = 알 수 있는 정보
oidc-app-actions = 작업
oidc-unknown-client = 이 애플리케이션은 여기에 등록되어 있지 않습니다.
oidc-bad-redirect = 애플리케이션이 등록되지 않은 돌아갈 주소를 보냈습니다.
oidc-bad-decision = 허용 또는 거부를 선택하세요.
title-oidc-clients = 애플리케이션 (OpenID Connect)
title-oidc-new-client = 애플리케이션 등록
title-oidc-client = 애플리케이션
oidc-client-kind = 종류
oidc-client-public = 공개 (비밀 없음, PKCE 필수)
oidc-client-confidential = 기밀 (비밀 있음)
oidc-no-clients = 등록된 애플리케이션이 없습니다.
oidc-field-redirect-uris = 리디렉션 URI (한 줄에 하나)
oidc-uri-help = 정확한 주소: https, 또는 127.0.0.1이나 [::1]로의 http (포트 무관).
oidc-field-logout-uris = 로그아웃 후 리디렉션 URI (한 줄에 하나)
oidc-field-backchannel = 백채널 로그아웃 URI (선택)
oidc-field-groups = 허용된 그룹 (비우면 모두)
oidc-field-alg = ID 토큰 알고리즘
oidc-field-trusted = 자체 애플리케이션: 동의 페이지 없음
oidc-field-pkce = PKCE 필수
oidc-field-public = 공개 클라이언트 (브라우저 또는 모바일 앱: 비밀 없음)
button-create-client = 등록
oidc-secret-once = 지금 비밀을 복사하세요: 한 번만 표시됩니다.
oidc-edit-client = 설정
button-save = 저장
button-rotate-secret = 새 비밀
button-delete-client = 애플리케이션 삭제
