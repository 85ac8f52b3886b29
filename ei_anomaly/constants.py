"""Names shared by the client, the local server and the CLI (kept import-free for fast start-up)."""

DEFAULT_BASE_URL = "https://studio.edgeimpulse.com/v1"
FAULT_MODES = ("slow", "5xx", "429", "malformed", "unsuccessful")
MAX_RESPONSE_BYTES = 256 * 2**20  # the most the API client reads from one answer (decoded)
