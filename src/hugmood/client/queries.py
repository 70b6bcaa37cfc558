"""The GraphQL documents the SDK sends (one place, so they are easy to read and check)."""

from __future__ import annotations

ENTRY = (
    "id moodType intensity note privacy recordedAt updatedAt"
    " contextFactors { location weather socialContext tags }"
    " insights { sentiment emotions suggestedMood }"
)
HUG = "id sender { handle } recipient { handle } hugType message status sentAt"

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle displayName } }"
LOG_IN = """
mutation($handle: String!, $password: String!, $device: String) {
  logIn(handle: $handle, password: $password, device: $device) {
    token expiresAt account { handle }
  }
}"""
LOG_OUT = "mutation { logOut }"
COMPLETE_LOG_IN = """
mutation($mfaToken: String!, $code: String, $recoveryCode: String) {
  completeLogIn(mfaToken: $mfaToken, code: $code, recoveryCode: $recoveryCode) {
    token expiresAt account { handle }
  }
}"""
START_AUTHENTICATOR_SETUP = """
mutation($mfaToken: String) { startAuthenticatorSetup(mfaToken: $mfaToken) { secret otpauthUri } }
"""
CONFIRM_AUTHENTICATOR_SETUP = """
mutation($code: String!, $mfaToken: String) {
  confirmAuthenticatorSetup(code: $code, mfaToken: $mfaToken) {
    recoveryCodes session { token expiresAt account { handle } }
  }
}"""
TURN_OFF_AUTHENTICATOR = """
mutation($password: String!, $code: String, $recoveryCode: String) {
  turnOffAuthenticator(password: $password, code: $code, recoveryCode: $recoveryCode)
}"""
NEW_RECOVERY_CODES = "mutation($code: String!) { newRecoveryCodes(code: $code) }"
SECOND_FACTORS = """
{ mySecondFactors { authenticatorApp recoveryCodesLeft required passkeys { name addedAt } } }
"""
ME = "{ me { id handle displayName defaultVisibility } }"
RECORD_MOOD = f"mutation($input: RecordMoodInput!) {{ recordMood(input: $input) {{ {ENTRY} }} }}"
RECORD_MOODS = """
mutation($entries: [RecordMoodInput!]!) {
  recordMoods(entries: $entries) { id status code message field }
}"""
MOOD_CHANGES = """
query($after: String, $limit: Int!) {
  myMoodChanges(after: $after, limit: $limit) { compactEntries deletedIds cursor hasMore }
}"""
HISTORY = f"""
query($start: DateTime!, $end: DateTime!) {{
  moodHistory(from: $start, to: $end) {{ entries {{ {ENTRY} }} }}
}}"""
CONNECTIONS = """
query($status: RelationshipStatus!) {
  connections(status: $status) { profile { handle displayName } status since }
}"""
FRIENDSHIP_MUTATIONS = {
    "request": "requestFriendship",
    "accept": "acceptFriendship",
    "decline": "declineFriendship",
    "remove": "removeFriend",
    "block": "blockUser",
    "unblock": "unblockUser",
}


def friendship(mutation: str) -> str:
    return f"mutation($handle: String!) {{ {mutation}(handle: $handle) {{ status }} }}"


SEND_HUG = f"mutation($input: SendHugInput!) {{ sendHug(input: $input) {{ {HUG} }} }}"
INBOX = f"query($limit: Int!) {{ inbox(limit: $limit) {{ {HUG} }} }}"
SENT_HUGS = f"query($limit: Int!) {{ sentHugs(limit: $limit) {{ {HUG} }} }}"
HUG_RECEIVED = f"subscription {{ hugReceived {{ {HUG} }} }}"
FRIEND_PRESENCE = "subscription { friendPresence { profile { handle } status view } }"
BOARDS = """
query($archived: Boolean!) {
  boards(includeArchived: $archived) { id title description myRole itemCount lastActivityAt }
}"""
BOARD_SNAPSHOT = "query($id: ID!) { board(id: $id) { snapshot } }"
