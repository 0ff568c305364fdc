"""The limits of every input, chosen so that whatever is accepted can be stored.

One declaration for every face: the domain's checks, the REST schemas and the
storage columns read these numbers, so an input the library accepts is never
one a column cannot hold.

Money columns are integer nano-USD in a signed 64-bit column (at most about
9.2e18 nanos). The largest token count times the largest rate, summed over the
five token kinds plus a per-request price, stays below that:
5 x 10^12 tokens x 10^6 nanos per token (USD 1,000 per million) + 10^12 nanos.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

#: Largest signed 64-bit integer, the bound of every counter column.
INT64_MAX = 2**63 - 1

#: Largest token count of one kind in one record, allocation or estimate.
MAX_TOKENS = 10**12
#: Largest token limit of a policy (a window adds up many records).
MAX_TOKEN_LIMIT = 10**15
#: Largest price, in USD per million tokens (the catalog's ceiling may be lower).
MAX_RATE_PER_MILLION = Decimal(1000)
#: Largest per-request price, in USD.
MAX_REQUEST_PRICE = Decimal(1000)
#: Largest USD limit of a policy.
MAX_USD_LIMIT = Decimal(10**9)

#: Names, owners and scope attributes (component, project, user, api_key, model).
NAME_LENGTH = 200
#: Provider names and task types.
SHORT_LENGTH = 100
#: Caller-chosen ids: context, session, task and request ids.
ID_LENGTH = 300
#: Budget, policy, allocation and usage ids Budget makes (``bud_…``).
KEY_LENGTH = 40
#: IANA time zone names (the longest in use is about 30 characters).
ZONE_LENGTH = 64
#: Free text: a budget's description.
DESCRIPTION_LENGTH = 4000
#: Tags on one request or policy, and the length of each.
MAX_TAGS = 50

#: Metadata: keys, nesting depth and size of the whole mapping as JSON.
MAX_METADATA_KEYS = 100
MAX_METADATA_DEPTH = 8
MAX_METADATA_BYTES = 16_384

#: Date-times: from the Unix epoch to the start of year 9000 (UTC), so that every
#: window computation (a yearly window in any timezone) stays inside the calendar.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

#: Latency of one call, in milliseconds (about 11.5 days).
MAX_LATENCY_MS = 10**9
