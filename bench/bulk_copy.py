"""Copies of template cases in bulk: the second part of bench/seed_cases.py's filling (its
docstring tells the whole). `copied_tables` reads the tables of a case from the models, `load_templates`
cuts a template's rows once, `fill_copies` writes renamed copies through one connection (`Writer`), with
the copied tables' secondary indexes dropped meanwhile and rebuilt afterwards (`BulkLoad`). The workflow
state is read and written only through `decode_state` / `encode_state` (engine.state_codec's form).
"""
from __future__ import annotations

from hashlib import sha256
import json
import operator
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from psycopg import Binary  # noqa: E402

from engine import state_codec  # noqa: E402
from engine.audit import GENESIS, canonical, event_hash  # noqa: E402
from engine.calendar import ZONE  # noqa: E402
from engine.store import Base, Case, CaseCounter  # noqa: E402

from seed_templates import KINDS, TOWNS, VILLAGES, Template, _write  # noqa: E402


# ------------------------------------------------------------------------------------ copying
# What a copy renames in a text: a unit code, a username (they embed their unit's code), a marked id
# of one of its template's rows (`_mark`: 9107, the table's digit, the id in 8 digits), a case number.
_CODES = re.compile(r'vil(\d\d)(\d\d)|twn(\d\d)|(?<!\d)9107(\d)(\d{8})(?!\d)|((?:MED|XF)-\d{4}-\d{6})')
_MARK = 9107 * 10 ** 9

# Tables holding a case's rows that are not copied: the reminders of the template's deadlines.
# The search index is not copied: its terms hold each case's own number, so `finish` rebuilds it.
NOT_COPIED = frozenset({"outbox", "outbox_attempt", "inbox_item", "case_search_term",
                        "case_history"})  # packed after the copies (seed_cases.pack), not copied
# Columns naming a row of a copied table without a foreign key.
REFERENCES = {("case_record", "repeat_of"): "case_record", ("ledger_entry", "reverses"): "ledger_entry"}
# Keys of JSON values (case data, event data, the workflow state) naming a copied row.
ID_KEYS = {"case_id": "case_record", "petition_case_id": "case_record", "repeat_of": "case_record",
           "linked_case_id": "case_record", "task_id": "human_task", "entry_id": "ledger_entry",
           "reverses": "ledger_entry"}
ID_LISTS = {"entry_ids": "ledger_entry", "entries": "ledger_entry"}  # ints, or objects with that `id`


def decode_state(stored: Any) -> str:
    """A workflow state as JSON text, from `case_record.state` as stored (engine.state_codec's form).
    The seeder's one reader of states."""
    return state_codec.decode_json(stored).decode("utf-8") if stored else ""


def encode_state(text: str) -> Any:
    """A workflow state's JSON text in `case_record.state`'s stored form: `decode_state`'s inverse."""
    return state_codec.encode_json(text)


def copied_tables() -> list[Any]:
    """`case_record`, every table with a `case_id` column or a foreign key to a copied table (not the
    outbox's), in an order where a row's parents come first: read from the models, so a table or a
    column added to engine/store.py is copied too."""
    tables = Base.metadata.sorted_tables
    order, names = [Base.metadata.tables["case_record"]], {"case_record"}
    grown = True
    while grown:
        grown = False
        for t in tables:
            if t.name in names or t.name in NOT_COPIED:
                continue
            if "case_id" in t.c or {fk.column.table.name for fk in t.foreign_keys} & names:
                keyed_by_case = "id" not in t.c and "case_id" in t.primary_key.columns  # case_event: (case_id, seq)
                if not keyed_by_case and ("id" not in t.c or len(t.primary_key.columns) != 1):
                    raise RuntimeError(f"{t.name}: a copied table needs an `id` primary key or one beginning "
                                       f"with case_id")
                order.append(t)
                names.add(t.name)
                grown = True
    if len(order) > 10:
        raise RuntimeError("more than 10 copied tables: widen the table digit of _CODES")
    return order


def _refs(table, names: set[str]) -> dict[str, str]:
    """Column -> the copied table whose ids it holds."""
    found = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys if fk.column.table.name in names}
    if "case_id" in table.c:
        found.setdefault("case_id", "case_record")
    for (t, c), target in REFERENCES.items():
        if t == table.name and c in table.c:
            found[c] = target
    return found


class Renamer:
    """One copy's renaming: towns rotated by dt, villages within their town by dv (a bijection of
    the county's units, and so of its usernames), the template's row ids and case numbers replaced."""

    def __init__(self, dt: int, dv: int, numbers: dict[str, str], ids: list[dict[int, int]]):
        self.dt, self.dv, self.numbers, self.ids = dt, dv, numbers, ids

    def token(self, token: tuple) -> str:
        kind = token[0]
        if kind == "v":
            return f"vil{(token[1] - 1 + self.dt) % TOWNS + 1:02d}{(token[2] - 1 + self.dv) % VILLAGES + 1:02d}"
        if kind == "t":
            return f"twn{(token[1] - 1 + self.dt) % TOWNS + 1:02d}"
        if kind == "i":
            return str(self.ids[token[1]][token[2]])
        return self.numbers.get(token[1], token[1])

    def values(self, atoms: Atoms) -> tuple[list[str], list[str]]:
        """The template's pieces with this copy's names in the codes' places: as they are, and (when the
        template was cut for PostgreSQL's COPY) escaped for its text format, else the same list. A
        code's new name needs no escaping (letters, digits, `-`)."""
        found = atoms.values.copy()
        escaped = atoms.escaped.copy() if atoms.escaped is not None else found
        for token, slot in atoms.slots.items():
            found[slot] = escaped[slot] = self.token(token)
        return found, escaped


class Atoms:
    """All the texts of one template cut once at their codes: one list of the literal pieces and of
    one place per distinct code, so that a copy fills the codes' places once (`Renamer.values`) and
    joins each text from its positions (`Pieces`) instead of scanning it again (a workflow state is
    some 16 KB)."""

    def __init__(self):
        self.values: list[str] = []
        self.slots: dict[tuple, int] = {}
        self.escaped: list[str] | None = None  # `values` in COPY's text format (`escape_all`)

    def escape_all(self) -> None:
        """The literal pieces escaped once for COPY's text format, so a copy's texts are escaped by
        joining escaped pieces (escaping commutes with joining)."""
        self.escaped = [copy_escape(v) for v in self.values]

    def position(self, piece: str | tuple) -> int:
        if isinstance(piece, tuple):
            slot = self.slots.get(piece)
            if slot is None:
                slot = self.slots[piece] = len(self.values)
                self.values.append("")
            return slot
        self.values.append(piece)
        return len(self.values) - 1


class Pieces:
    """A text cut at its codes: the positions of its pieces among its template's `Atoms`."""
    __slots__ = ("getter", "single", "plain")

    def __init__(self, text: str, atoms: Atoms):
        parts: list[Any] = []
        last = 0
        for m in _CODES.finditer(text):
            parts.append(text[last:m.start()])
            if m.group(1):
                parts.append(("v", int(m.group(1)), int(m.group(2))))
            elif m.group(3):
                parts.append(("t", int(m.group(3))))
            elif m.group(4):
                parts.append(("i", int(m.group(4)), int(m.group(5))))
            else:
                parts.append(("n", m.group(6)))
            last = m.end()
        parts.append(text[last:])
        parts = [p for p in parts if p != ""] or [""]
        self.plain = len(parts) == 1 and isinstance(parts[0], str)
        positions = [atoms.position(p) for p in parts]
        self.single = positions[0] if len(positions) == 1 else None
        self.getter = operator.itemgetter(*positions)

    def render(self, values: list[str]) -> str:
        if self.single is not None:
            return values[self.single]
        return "".join(self.getter(values))


def _stored(value: Any) -> str:
    """A JSON value as the store's JSON columns hold it (the engines' json_serializer)."""
    return state_codec.json_text(value)


def _json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


# PostgreSQL COPY's text format: a row a line, fields by tabs, NULL as \\N, and in a text a backslash,
# a tab, a newline and a carriage return escaped with a backslash.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_NULL = "\\N"


def copy_escape(text_: str) -> str:
    """A text as a field of COPY's text format."""
    return text_.translate(_COPY_ESCAPES)


def copy_bytea(value: bytes) -> str:
    """Bytes as a `bytea` field of COPY's text format: hex input (`\\x…`), its backslash escaped."""
    return "\\\\x" + value.hex()


def copy_field(value: Any) -> str:
    """A value in the driver's form (after the columns' bind processing) as a field of COPY's text
    format: NULL, booleans, numbers, naive UTC datetimes (ISO), bytes, texts."""
    if value is None:
        return COPY_NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("COPY of an aware datetime: the column's bind processing was skipped")
        return value.isoformat(sep=" ")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return copy_bytea(bytes(value))
    if isinstance(value, Binary):  # psycopg's wrapper of bytes (a digest column's bind processing)
        return copy_bytea(bytes(value.obj))
    if isinstance(value, str):
        return copy_escape(value)
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def _mark(value: Any, ids: dict[str, set[int]], digit: dict[str, int], id_table: str | None = None) -> Any:
    """`value` with every id of one of the group's rows, under a key that names one (`ID_KEYS`,
    `ID_LISTS`), replaced by a marked number the copies rename (`_CODES`)."""
    def marked(table: str, i: Any) -> Any:
        if isinstance(i, int) and not isinstance(i, bool) and i in ids.get(table, ()):
            return _MARK + digit[table] * 10 ** 8 + i
        return i

    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ID_KEYS and isinstance(v, int):
                out[k] = marked(ID_KEYS[k], v)
            elif k == "id" and id_table:
                out[k] = marked(id_table, v)
            elif k in ID_LISTS and isinstance(v, list):
                out[k] = [marked(ID_LISTS[k], i) if isinstance(i, int) else _mark(i, ids, digit, ID_LISTS[k])
                          for i in v]
            else:
                out[k] = _mark(v, ids, digit)
        return out
    if isinstance(value, list):
        return [_mark(v, ids, digit) for v in value]
    return value


@dataclass
class TableRows:
    """A template group's rows of one table, ready to copy: per row the values in the driver's form
    with what changes per copy (`ops`: column index, what, argument), and for PostgreSQL the same
    values once as fields of COPY's text format (`fields`)."""
    name: str
    old_ids: list[int]
    base: list[list[Any]]
    ops: list[list[tuple[int, str, Any]]]
    fields: list[list[str]] | None = None


@dataclass
class TemplateRows:
    """A template's cases (one, or two linked) and all their rows, cut once for copying."""
    template: Template
    size: int  # cases
    created_at: datetime
    types: list[str]  # per case
    years: list[int]
    numbers: list[str]
    home: int  # the template's home village index in town 01
    tables: list[TableRows]
    events: list[list[tuple]]  # per case: (head Pieces, tail Pieces, seq, at, kind, actor, canonical data)
    event_order: list[int]  # per event, in the order of `events`: its row in case_event's rows
    atoms: Atoms


def _bind_processors(table, dialect) -> dict[str, Callable[[Any], Any]]:
    """Each column's bind processing (UTC datetimes as SQLite's text …), JSON rendered as SQLAlchemy does."""
    from sqlalchemy import JSON
    found = {}
    for c in table.columns:
        if isinstance(c.type, JSON):
            found[c.name] = _stored
        else:
            bind = c.type.dialect_impl(dialect).bind_processor(dialect)
            if bind is not None:
                found[c.name] = bind
    return found


def load_templates(system, templates: list[Template]) -> list[TemplateRows]:
    tables = copied_tables()
    names = {t.name for t in tables}
    digit = {t.name: i for i, t in enumerate(tables)}
    dialect = system.db.write_engine.dialect
    processors = {t.name: _bind_processors(t, dialect) for t in tables}
    refs = {t.name: _refs(t, names) for t in tables}
    copy_text = system.db.is_postgres  # the Writer's COPY takes lines of text
    loaded = []
    with system.db.read() as s:
        conn = s.connection()
        for t in templates:
            rows: dict[str, list[dict[str, Any]]] = {}
            ids: dict[str, set[int]] = {}
            group = set(t.case_ids)
            for table in tables:
                if table.name == "case_record":
                    where = table.c.id.in_(sorted(group))
                else:
                    col, parent = next((c, p) for c, p in refs[table.name].items()
                                       if table.c[c].foreign_keys or c == "case_id")
                    where = table.c[col].in_(sorted(ids[parent]))
                # a table keyed by (case_id, seq) without an id of its own (case_event): in key order
                order = [table.c.id] if "id" in table.c else list(table.primary_key.columns)
                rows[table.name] = [dict(r) for r in conn.execute(select(table).where(where).order_by(*order))
                                    .mappings()]
                ids[table.name] = {r["id"] for r in rows[table.name]} if "id" in table.c else set()
            for link in rows.get("case_link", []):
                if link["linked_case_id"] not in group or link["case_id"] not in group:
                    raise RuntimeError(f"template {t.kind}: case {link['case_id']} links outside its cases")
            cases = rows["case_record"]
            case_index = {c["id"]: i for i, c in enumerate(cases)}
            home = cases[0]["data"].get("route", {}).get("village") or cases[0]["data"].get("residence_org")
            atoms = Atoms()
            cut: list[TableRows] = []
            for table in tables:
                tr = TableRows(table.name, [r["id"] for r in rows[table.name]] if "id" in table.c else [], [], [])
                columns = [c.name for c in table.columns]
                proc = processors[table.name]
                for row in rows[table.name]:
                    base, ops = [], []
                    for i, name in enumerate(columns):
                        value = row[name]
                        if table.name == "case_record" and name == "state":
                            text_ = json.dumps(_mark(json.loads(decode_state(value) or "{}"), ids, digit),
                                               separators=(",", ":"), ensure_ascii=False) if value else ""
                            base.append(None)
                            ops.append((i, "state", Pieces(text_, atoms)))
                            continue
                        if isinstance(value, (dict, list)):
                            value = _mark(value, ids, digit)
                        if name in proc and (value is not None or proc[name] is _stored):
                            value = proc[name](value)
                        base.append(value)
                        if name == "id":
                            ops.append((i, "id", digit[table.name]))
                        elif name in refs[table.name] and value is not None:
                            if value in ids[refs[table.name][name]]:
                                ops.append((i, "ref", digit[refs[table.name][name]]))
                        elif table.name == "case_record" and name == "last_event_hash":
                            ops.append((i, "head", case_index[row["id"]]))
                        elif table.name == "case_event" and name == "hash":
                            ops.append((i, "hash", None))
                        elif isinstance(value, str):
                            p = Pieces(value, atoms)
                            if not p.plain:
                                ops.append((i, "text", p))
                    tr.base.append(base)
                    tr.ops.append(ops)
                if copy_text:
                    tr.fields = [[copy_field(v) for v in base] for base in tr.base]
                cut.append(tr)
            events: list[list[tuple]] = [[] for _ in cases]
            event_rows: list[list[int]] = [[] for _ in cases]
            for j, e in enumerate(rows.get("case_event", [])):  # in (case_id, seq) order
                k = case_index[e["case_id"]]
                # the hashed body (engine.audit.event_hash) around the new case id, cut like the texts
                at = e["at"].astimezone(timezone.utc).isoformat(timespec="microseconds")
                data = canonical(_mark(e["data"], ids, digit))
                head = f'{{"actor":{_json_str(e["actor"])},"at":"{at}","case_id":'
                tail = f',"data":{data},"kind":{_json_str(e["kind"])},"seq":{e["seq"]}}}'
                events[k].append((Pieces(head, atoms), Pieces(tail, atoms), e["seq"], e["at"], e["kind"],
                                  Pieces(e["actor"], atoms), Pieces(data, atoms)))
                event_rows[k].append(j)
            if copy_text:
                atoms.escape_all()
            for k, evs in enumerate(events):
                if [e[2] for e in evs] != sorted(e[2] for e in evs):
                    raise RuntimeError(f"case {cases[k]['id']}: events not in seq order by id")
            loaded.append(TemplateRows(
                t, len(cases), cases[0]["created_at"], [c["type"] for c in cases],
                [c["created_at"].astimezone(ZONE).year for c in cases], [c["number"] for c in cases],
                int(home[-2:]), cut, events, [j for per_case in event_rows for j in per_case], atoms))
    return loaded


def copy_plan(templates: list[TemplateRows], cases: int, rng: random.Random) -> list[TemplateRows]:
    """Which template each copy copies: per kind, its share of `cases` less its templates' cases,
    round robin; sorted by registration time so newer cases get larger ids, as in a store that grew."""
    by_kind: dict[str, list[TemplateRows]] = {}
    for t in templates:
        by_kind.setdefault(t.template.kind, []).append(t)
    plan: list[TemplateRows] = []
    for k in KINDS:
        own = by_kind.get(k.name) or []
        if own:
            wanted = round(cases * k.share) - sum(t.size for t in own)
            size = sum(t.size for t in own) / len(own)
            plan.extend(own[i % len(own)] for i in range(max(0, round(wanted / size))))
    # rounding: trim, or pad with single cases of the commonest kind, so the store holds `cases` cases
    total = sum(t.size for t in templates) + sum(t.size for t in plan)
    singles = [t for t in plan if t.size == 1]
    while total > cases and singles:
        t = singles.pop(rng.randrange(len(singles)))
        plan.remove(t)
        total -= 1
    common = [t for t in by_kind.get(KINDS[0].name) or templates if t.size == 1]
    while total < cases and common:
        plan.append(common[total % len(common)])
        total += 1
    plan.sort(key=lambda t: t.created_at)
    return plan


class Writer:
    """Rows into the store in bulk on one connection of its own: SQLite `executemany` of tuples,
    PostgreSQL `COPY … FROM STDIN` in its text format, the lines built by `fill_copies` (a table's
    lines of a batch in one `write`: psycopg adapts nothing), on a session with `synchronous_commit`
    off (a failed seed is redone, not recovered) and, for a superuser, `session_replication_role =
    replica`, which skips the foreign keys' per-row checks as SQLite's load does (the copies' rows
    are consistent by construction: `fengqiao check` says so afterwards)."""

    def __init__(self, system, tables):
        self.postgres = system.db.is_postgres
        if not self.postgres:  # no other connection (the pools' nor a thread's kept one): the journal mode can change
            system.db.dispose()
        self.raw = system.db.write_engine.raw_connection()
        if not self.postgres:
            sqlite_bulk_pragmas(self.raw)
        else:
            postgres_bulk_settings(self.raw)
        self.columns = {t.name: [c.name for c in t.columns] for t in tables}
        self.sql = {}
        for t in tables:
            cols = ", ".join(f'"{c}"' for c in self.columns[t.name])
            self.sql[t.name] = (f'COPY "{t.name}" ({cols}) FROM STDIN' if self.postgres else
                                f'INSERT INTO "{t.name}" ({cols}) VALUES ({", ".join("?" * len(t.columns))})')

    def write(self, batch: dict[str, list[Any]]) -> None:
        """One transaction, the tables in the order given (parents first): per table tuples (SQLite)
        or lines of COPY's text format without their newline (PostgreSQL)."""
        cur = self.raw.cursor()
        if not self.postgres:
            cur.execute("BEGIN")  # engine/db.py leaves opening transactions to the caller
        for name, rows in batch.items():
            if not rows:
                continue
            if self.postgres:
                with cur.copy(self.sql[name]) as copy:
                    for at in range(0, len(rows), 4096):
                        copy.write("\n".join(rows[at:at + 4096]) + "\n")
            else:
                cur.executemany(self.sql[name], rows)
        cur.close()
        self.raw.commit()

    def close(self) -> None:
        if not self.postgres:
            sqlite_restore_pragmas(self.raw)
        self.raw.close()


def fill_copies(system, templates: list[TemplateRows], plan: list[TemplateRows], rng: random.Random,
                chunk: int = 2000, log: Callable[[str], None] = _write) -> float:
    """Insert the planned copies in batches of about `chunk` cases, one transaction each; returns seconds."""
    tables = copied_tables()
    with system.db.read() as s:
        next_id = [(s.scalar(select(func.max(t.c.id))) or 0) + 1 if "id" in t.c else 0 for t in tables]
        counters = {(c.type, c.year): c.last for c in s.scalars(select(CaseCounter))}
    prefixes = {"mediation": "MED", "petition": "XF"}
    checked: set[int] = set()  # templates whose first copy's hashes were checked against engine.audit
    started, done, cases_done, total = time.perf_counter(), 0, 0, sum(t.size for t in plan)
    event_digit = next((i for i, t in enumerate(tables) if t.name == "case_event"), None)
    writer = Writer(system, tables)
    copy_text = writer.postgres
    # PostgreSQL: a batch is sent by a thread of its own while the next one is built (the server's
    # work on one core, the lines' on the other; psycopg waits on the socket without the GIL)
    sender = ThreadPoolExecutor(1, thread_name_prefix="copy") if copy_text else None
    sent = None
    try:
        while done < len(plan):
            batch: dict[str, list[list[Any]]] = {t.name: [] for t in tables}
            step = plan[done:done + chunk]
            for t in step:
                ids: list[dict[int, int]] = []
                for k, tr in enumerate(t.tables):
                    start = next_id[k]
                    ids.append({old: start + i for i, old in enumerate(tr.old_ids)})
                    next_id[k] += len(tr.old_ids)
                numbers = {}
                for old, case_type, year in zip(t.numbers, t.types, t.years):
                    counters[(case_type, year)] = counters.get((case_type, year), 0) + 1
                    numbers[old] = f"{prefixes[case_type]}-{year}-{counters[(case_type, year)]:06d}"
                values, escaped = Renamer(rng.randrange(TOWNS), rng.randint(1, VILLAGES) - t.home, numbers,
                                          ids).values(t.atoms)
                new_case_ids = list(ids[0].values())
                by_row: list[Any] = [None] * len(t.event_order)  # per event row: its hash's 32 bytes
                heads = []
                n = 0
                for k, evs in enumerate(t.events):
                    prev, case_id = GENESIS, str(new_case_ids[k])
                    for head, tail, seq, at, kind, actor_p, canon_p in evs:
                        body = head.render(values) + case_id + tail.render(values)
                        hashed = sha256((prev + body).encode("utf-8"))
                        digest = hashed.hexdigest()
                        if id(t) not in checked:
                            assert digest == event_hash(prev, int(case_id), seq, at, actor_p.render(values), kind,
                                                        json.loads(canon_p.render(values))), "hash recomputation differs"
                        by_row[t.event_order[n]] = hashed.digest()  # stored as bytes (engine.store.Digest)
                        n += 1
                        prev = digest
                    heads.append(bytes.fromhex(prev))
                checked.add(id(t))
                for k, tr in enumerate(t.tables):
                    out = batch[tr.name]
                    own = ids[k]
                    if copy_text:
                        _copy_lines(out, tr, own, ids, values, escaped, heads, by_row)
                        if k == event_digit and len(tr.base) != len(by_row):
                            raise RuntimeError("event rows and hashes differ")
                        continue
                    for j, (base, ops) in enumerate(zip(tr.base, tr.ops)):
                        row = base.copy()
                        for i, what, arg in ops:
                            if what == "text":
                                row[i] = arg.render(values)
                            elif what == "id":
                                row[i] = own[row[i]]
                            elif what == "ref":
                                row[i] = ids[arg][row[i]]
                            elif what == "state":
                                row[i] = encode_state(arg.render(values))
                            elif what == "head":
                                row[i] = heads[arg]
                            elif what == "hash":
                                row[i] = by_row[j]
                        out.append(row)
                    if k == event_digit and len(tr.base) != len(by_row):
                        raise RuntimeError("event rows and hashes differ")
            if sender is None:
                writer.write(batch)
            else:
                if sent is not None:
                    sent.result()
                sent = sender.submit(writer.write, batch)
            done += len(step)
            cases_done += sum(t.size for t in step)
            log(progress("copies", cases_done, total, time.perf_counter() - started))
        if sent is not None:
            sent.result()
    finally:
        if sender is not None:
            sender.shutdown(wait=True)
        writer.close()
    with system.db.write() as s:
        for (case_type, year), last in counters.items():
            found = s.get(CaseCounter, (case_type, year))
            if found is None:
                s.add(CaseCounter(type=case_type, year=year, last=last))
            else:
                found.last = last
        if system.db.is_postgres:  # explicit ids: move the sequences past them
            for t in (t for t in tables if "id" in t.c):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {t.name}))"))
    log("\n")
    return time.perf_counter() - started


def _copy_lines(out: list[str], tr: TableRows, own: dict[int, int], ids: list[dict[int, int]],
                values: list[str], escaped: list[str], heads: list[bytes], by_row: list[bytes]) -> None:
    """One copy's rows of one table as lines of COPY's text format (`fill_copies`'s rows, for PostgreSQL):
    the template's fields with what changes per copy; its texts joined from escaped pieces."""
    for j, (base, fields, ops) in enumerate(zip(tr.base, tr.fields, tr.ops)):
        row = fields.copy()
        for i, what, arg in ops:
            if what == "text":
                row[i] = arg.render(escaped)
            elif what == "id":
                row[i] = str(own[base[i]])
            elif what == "ref":
                row[i] = str(ids[arg][base[i]])
            elif what == "state":
                row[i] = copy_bytea(encode_state(arg.render(values)))
            elif what == "head":
                row[i] = copy_bytea(heads[arg])
            elif what == "hash":
                row[i] = copy_bytea(by_row[j])
        out.append("\t".join(row))


def progress(what: str, done: int, total: int, elapsed: float, width: int = 30) -> str:
    """`\r` and one line of a plain-text progress bar: share done, rate, time left."""
    share = done / total if total else 1.0
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate else 0.0
    bar = "#" * int(share * width) + "." * (width - int(share * width))
    return (f"\r  {what} [{bar}] {share:6.1%} {done}/{total} cases, {rate:,.0f}/s, "
            f"{elapsed:,.0f} s, ~{left:,.0f} s left ")


def verify_sample(system, count: int, rng: random.Random) -> tuple[int, Any]:
    """Recompute the hash chains of `count` random cases (templates and copies)."""
    from engine.audit import verify_cases
    with system.db.read() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
        ids = sorted(rng.sample(range(1, top + 1), min(count, top)))
        return verify_cases(s, ids)


class BulkLoad:
    """What the copies are loaded under, undone afterwards: the copied tables' secondary indexes dropped
    (rebuilt by `restore`, from the very statements that made them, so the schema ends as
    `fengqiao init` made it) and, on SQLite, the Writer's connection without journal, sync or foreign
    key checks and with a large cache."""

    def __init__(self, system, tables):
        self.system, self.names = system, [t.name for t in tables]
        self.dropped: list[tuple[str, str]] = []  # (index name, its CREATE statement)

    def drop_indexes(self) -> None:
        with self.system.db.write() as s:
            if self.system.db.is_postgres:
                found = s.execute(text(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                    "AND i.tablename = ANY(:names) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                    "WHERE c.conname = i.indexname AND c.connamespace = (SELECT oid FROM pg_namespace "
                    "WHERE nspname = current_schema())) ORDER BY i.indexname"), {"names": self.names}).all()
            else:
                found = s.execute(text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    f"AND tbl_name IN ({', '.join(repr(n) for n in self.names)}) ORDER BY name")).all()
            self.dropped = [(name, sql) for name, sql in found]
            for name, _sql in self.dropped:
                s.execute(text(f'DROP INDEX "{name}"'))

    def restore(self, log: Callable[[str], None] = _write) -> float:
        started = time.perf_counter()
        with self.system.db.write() as s:
            if self.system.db.is_postgres and self.dropped:  # sorts in memory, for this transaction only
                s.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for i, (name, sql) in enumerate(self.dropped, 1):
                s.execute(text(sql))
                log(f"\r  indexes: {i}/{len(self.dropped)} rebuilt ({time.perf_counter() - started:.0f} s, {name}) ")
        if self.dropped:
            log("\n")
        self.dropped = []
        return time.perf_counter() - started


def sqlite_bulk_pragmas(raw) -> None:
    """A bulk load's connection on SQLite: no journal (a failed seed is redone, not recovered), no
    syncs, no foreign key checks (the copies' rows are consistent by construction: `fengqiao check`
    says so afterwards), 1 GiB of page cache, temporary b-trees in memory."""
    cur = raw.cursor()
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-1048576",
                   "temp_store=MEMORY"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def postgres_bulk_settings(raw) -> None:
    """A bulk load's session on PostgreSQL: commits without waiting for the WAL's flush, and, for a
    superuser, no foreign key triggers (see `Writer`)."""
    cur = raw.cursor()
    cur.execute("SET synchronous_commit = off")
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cur.fetchone()[0]:
        cur.execute("SET session_replication_role = replica")
    cur.close()
    raw.commit()


def sqlite_restore_pragmas(raw) -> None:
    cur = raw.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # as engine/db.py sets every connection
    cur.close()
