"""The Redis keys a shared mock keeps its state, faults and journal in (one prefix, one list)."""

PREFIX = "coder-mock:"
SETTINGS = PREFIX + "settings"  # string: the settings JSON
PREFERENCES = PREFIX + "preferences"  # hash: user id -> the user's preferences, JSON form
OUTBOX = PREFIX + "outbox"  # list of JSON messages, oldest first
PENDING = PREFIX + "pending"  # list of JSON messages held while the notifier is paused
DEDUPE = PREFIX + "dedupe"  # set: the dedupe keys of the newest notifications
DEDUPE_ORDER = PREFIX + "dedupe-order"  # list: the same keys, oldest first, for the limit
DROPPED = PREFIX + "dropped"  # hash: part (outbox, pending, inbox, dedupe, journal) -> count
INBOX_USERS = PREFIX + "inbox-users"  # set: user ids that have an inbox list
INBOX = PREFIX + "inbox:"  # + user id: list of JSON inbox rows, oldest first
METHODS = PREFIX + "template-methods"  # hash: template id -> method set through the API
SEEDED = PREFIX + "seeded"  # the seed marker: a generation id, set once a state is written
FAULTS = PREFIX + "faults"  # hash: fault id -> fault JSON
FAULT_TIMES = PREFIX + "fault-times"  # hash: fault id -> calls left, for limited faults
FAULT_IDS = PREFIX + "fault-ids"  # counter
FAULTS_SEEDED = PREFIX + "faults-seeded"  # set once --fault/--latency have been added
JOURNAL = PREFIX + "journal"  # list of JSON entries, oldest first
EVENTS = PREFIX + "inbox-events"  # pub/sub channel: each inbox row delivered, as JSON
