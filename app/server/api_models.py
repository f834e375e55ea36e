"""The JSON bodies of the API, as pydantic models: what /openapi.json describes and requests are checked against."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from app.connectors.batches import EVENT_TYPES, PLATFORM_NAMES


def _no_nul(value: str) -> str:
    # PostgreSQL's text cannot hold U+0000, so a name with one would be stored on SQLite and fail on
    # PostgreSQL: refused on both, naming the field (the criteria's JSON may hold it: it is kept as JSON).
    if "\x00" in value:
        raise ValueError("U+0000 (NUL) is not allowed in names and tags")
    return value


#: Text a name, tag or reference may be: anything but U+0000.
Text = Annotated[str, AfterValidator(_no_nul)]


class ErrorItem(BaseModel):
    code: str = Field(description="A stable code, e.g. INVALID_BATCH, VERSION_CONFLICT")
    message: str = Field(description="What is wrong, naming the field")
    field: str | None = Field(None, description="The field at fault, e.g. [2].events[0].data.timestamp_unixtime_ms")


class ErrorBody(BaseModel):
    errors: list[ErrorItem]


class Accepted(BaseModel):
    batches: int = Field(description="Batches accepted and stored")


# -- sync ---------------------------------------------------------------------------------------


class WorkspaceInfo(BaseModel):
    id: int
    name: str
    last_seq: int = Field(description="Sequence number of the workspace's newest batch")


class Me(BaseModel):
    user: str
    workspaces: list[WorkspaceInfo]
    company: str | None = Field(None, description="The company's name (`server init`): what channel taxonomy pushes carry")
    roles: dict[str, str] = Field(default_factory=dict, description="workspace id -> your role there (admin, editor or viewer)")


class PagePart(BaseModel):
    table: str = Field(description="The cache table the part feeds")
    rows: int
    url: str = Field(description="Where to fetch the part (an Arrow IPC stream)")


class ChangesPage(BaseModel):
    workspace_id: int
    page: str | None = Field(description="This page's token (null when there is nothing new)")
    next_cursor: str = Field(description="Pass as ?cursor= for the next page, once this page is stored")
    last_seq: int | None = Field(description="The page's last batch (the cursor moves past it)")
    batches: int
    events: int
    more: bool = Field(description="Whether another page follows right away")
    sample: float | None = Field(description="The fraction of profiles (by md5 bucket of mpid) the pages hold; null: all")
    server_last_seq: int = Field(description="The workspace's newest batch on the server")
    parts: list[PagePart]


class SnapshotPart(BaseModel):
    table: str = Field(description="The cache table the part fills")
    rows: int
    bytes: int = Field(description="The Parquet file's size")
    url: str = Field(description="Where to fetch the part (a Parquet file)")


class SnapshotInfo(BaseModel):
    workspace_id: int
    through: int = Field(description="The last batch the snapshot holds; the pages after it follow from `cursor`")
    cursor: str = Field(description="Pass as ?cursor= to /changes once the snapshot is stored, for what came after it")
    batches: int = Field(description="Batches the snapshot holds")
    events: int
    sample: float | None = Field(description="The fraction of profiles (by md5 bucket of mpid) it holds; null: all")
    server_last_seq: int = Field(description="The workspace's newest batch on the server")
    parts: list[SnapshotPart] = Field(description="One Parquet file per cache table; event ids run 1..events")


# -- audience definitions -------------------------------------------------------------------------


class InputRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["platform", "feed"]
    name: Text = Field(min_length=1, max_length=200)


class _AudienceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=200)
    external_name: Text | None = Field(None, max_length=200, description="The name partners see (null: the name)")
    kind: Literal["realtime", "standard"] = "realtime"
    status: Literal["draft", "active", "inactive"] = "draft"
    inputs: list[InputRef] = Field(default_factory=list, max_length=100, description="The inputs chosen (none: all)")
    tags: list[Text] = Field(default_factory=list, max_length=100, description="Tags of at most 18 characters")
    criteria: dict[str, Any] = Field(description="The criteria document (docs/criteria.md)")


class AudienceCreate(_AudienceFields):
    workspace_ids: list[int] = Field(min_length=1, max_length=100)
    scope: Literal["single", "multi"] | None = Field(None, description="Default: single for one workspace, else multi")
    client_ref: Text | None = Field(None, min_length=1, max_length=100,
                                   description="The client's own id for this audience: resending a create with it returns the first")


class AudienceUpdate(_AudienceFields):
    version: int = Field(ge=1, description="The version the edit started from; 409 if the server's has moved on")


class Audience(BaseModel):
    id: int
    version: int
    deleted: bool
    name: str
    external_name: str | None
    scope: Literal["single", "multi"]
    kind: str
    status: str
    workspace_ids: list[int]
    inputs: list[dict[str, str]]
    tags: list[str]
    criteria: dict[str, Any]
    client_ref: str | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class AudienceChanges(BaseModel):
    audiences: list[Audience] = Field(description="Changed audiences in change order; deleted ones as tombstones")
    next_cursor: str
    more: bool


class AudienceVersionIn(BaseModel):
    """One saved version of an audience, as a laptop keeps it (docs/insights.md, Edit history)."""

    model_config = ConfigDict(extra="forbid")
    ref: Text = Field(min_length=1, max_length=100, description="The version's name on every laptop: a resend is kept once")
    audience_id: int = Field(ge=1, le=2**31 - 1, description="The server's audience id")
    saved_by: Text = Field(min_length=1, max_length=200, description="Who saved it: an account name, or the OS user offline")
    saved_at: AwareDatetime = Field(description="When it was saved (with its time zone)")
    note: Text | None = Field(None, max_length=200, description='Why, when not an edit: "restored version 3"')
    document: dict[str, Any] = Field(description="What the audience said: name, settings, tags, inputs, segment "
                                                 "settings and criteria; kept as sent, whatever its format")


class AudienceVersionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    versions: list[AudienceVersionIn] = Field(min_length=1, max_length=200)


class AudienceVersionsStored(BaseModel):
    added: int = Field(description="Versions new to the server")
    known: int = Field(description="Versions it had already (sent before): kept once")


class AudienceVersion(AudienceVersionIn):
    model_config = ConfigDict(extra="ignore")
    sent_by: str = Field(description="The account that sent it to the server")


class AudienceVersionChanges(BaseModel):
    versions: list[AudienceVersion] = Field(description="Versions the server received after the cursor, in arrival order")
    next_cursor: str
    more: bool


class Conflict(ErrorBody):
    current: Audience | None = Field(None, description="The server's copy, to compare with the local edit")


# -- ingest (documented only: the body is read and checked by the mParticle mapping itself) ---------

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An mParticle Events API batch (the fields the cache keeps; others are ignored).",
    "properties": {
        "mpid": {"type": "integer", "format": "int64"},
        "environment": {"type": "string", "enum": ["production", "development"]},
        "timestamp_unixtime_ms": {"type": "integer", "format": "int64"},
        "user_identities": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "user_attributes": {"type": "object"},
        "deleted_user_attributes": {"type": "array", "items": {"type": "string"}},
        "device_info": {"type": "object"},
        "application_info": {"type": "object", "properties": {"os": {"type": "string", "enum": sorted(set(PLATFORM_NAMES))}}},
        "consent_state": {"type": "object"},
        "context": {"type": "object"},
        "attribution_info": {"type": "object"},
        "events": {"type": "array", "items": {
            "type": "object", "required": ["event_type"],
            "properties": {"event_type": {"type": "string", "enum": sorted(EVENT_TYPES | {"first_run"})}, "data": {"type": "object"}},
        }},
    },
}


# -- revenue (docs/revenue.md) ---------------------------------------------------------------------

_TEXT = {"min_length": 1, "max_length": 200}


class RevenueRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date = Field(strict=True, description="The day (UTC) the revenue was earned, YYYY-MM-DD")
    segment_key: Text = Field(**_TEXT, description="The segment as sold: the audience's external name, or its name")
    agency: Text | None = Field(None, **_TEXT, description="The buyer; null (or absent): the channel did not report it")
    channel: Text | None = Field(None, **_TEXT, description="Where it was bought; null (or absent): not reported")
    impressions: int | None = Field(None, strict=True, ge=0, le=2**63 - 1, description="Null (or absent): not reported")
    revenue: float = Field(strict=True, allow_inf_nan=False, description="In `currency`; a correction replaces the earlier value")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD; currencies are never added up")


class SegmentCountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date = Field(strict=True, description="YYYY-MM-DD (UTC)")
    segment_key: Text = Field(**_TEXT)
    members: int = Field(strict=True, ge=0, le=2**63 - 1, description="The segment's member count that day")


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency: Text = Field(**_TEXT, description="The agency's stable key, as revenue records name it")
    name: Text | None = Field(None, **_TEXT, description="Its display name")
    kind: str | None = Field(None, **_TEXT, description="agency, trading desk, brand, data partner...")
    country: str | None = Field(None, **_TEXT)
    contact: str | None = Field(None, **_TEXT)


class RevenueUpload(BaseModel):
    """Revenue rows to store; each replaces the row of the same key (latest wins)."""

    model_config = ConfigDict(extra="forbid")
    records: list[RevenueRecordIn] = Field(default_factory=list, description="Key: day, segment_key, agency, channel, currency")
    segment_counts: list[SegmentCountIn] = Field(default_factory=list, description="Key: day, segment_key")
    agencies: list[AgencyIn] = Field(default_factory=list, description="Key: agency")


class RevenueWritten(BaseModel):
    records: int = Field(description="Revenue records written (a key given twice counts once)")
    segment_counts: int
    agencies: int


class RevenueChangesPage(BaseModel):
    workspace_id: int
    page: str | None = Field(description="This page's token (null when it holds no rows)")
    next_cursor: str = Field(description="Pass as ?cursor= for the next page, once this page is stored")
    after: int = Field(description="The page holds the revenue changes numbered after this...")
    through: int = Field(description="...up to and including this one")
    rows: int = Field(description="Rows of all parts when the page was made; a part fetched later may hold fewer (see docs/server.md)")
    more: bool = Field(description="Whether another page follows right away")
    server_revenue_seq: int = Field(description="The workspace's newest revenue change on the server")
    parts: list[PagePart] = Field(description="revenue_records, segment_counts and agencies (those with rows)")
