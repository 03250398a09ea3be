"""The federated SQL planner (issue 12): what each group's member computes, and what the coordinator runs
over the members' answers.

The query is parsed with DuckDB's own parser (``json_serialize_sql``); the member and coordinator queries are
made by editing that tree and printing it back (``json_deserialize_sql``), so no SQL text is pasted together
from the user's query. Plans, most pushed down first:

* ``aggregate``: one table, GROUP BY plain columns (or none), every aggregate one of count(*), count, sum,
  min, max, avg over a plain column, no FILTER inside them, no window or subquery. Each member runs WHERE
  and GROUP BY and answers one partial row per group (avg as sum and count); the coordinator runs the
  query's SELECT/HAVING/ORDER BY/LIMIT over the partials, each aggregate replaced by its combination
  (count: sum of counts, sum: sum of sums, min of mins, max of maxes, avg: sum of sums / sum of counts), cast
  to the type the aggregate has over the whole table. A DISTINCT aggregate's column is added to the
  members' GROUP BY, and the coordinator runs that aggregate as it is over the members' distinct values.
* ``rows``: one table, no aggregate, window or GROUP BY. Each member answers the rows that pass WHERE, only
  the columns the query names; with DISTINCT it answers distinct rows, with ORDER BY over columns and a
  constant LIMIT (or a LIMIT alone) only its first LIMIT+OFFSET rows (the union of every member's top k
  holds a global top k). The coordinator runs the query without its WHERE over the union.
* ``filter``: any other query over one table (other aggregates, FILTER clauses, window functions): members
  answer WHERE's rows with the named columns; the coordinator runs the query without its WHERE.
* ``ship``: everything else (joins, set operations, CTEs, subqueries): each table the query names, only the
  columns named anywhere in it, every row; the coordinator runs the query as it is.

TEST ONLY (``sql_wrong_null_aggregate``): every member query reads ``events_n0`` (events with NULL ``n`` as 0)
instead of ``events``: the mutant acts wherever the rows are read, whatever the plan.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

COLUMNS: dict[str, dict[str, str]] = {
    "events": {"id": "BIGINT", "key": "VARCHAR", "n": "BIGINT", "amount": "DECIMAL(38,6)", "ts": "TIMESTAMP",
               "label": "VARCHAR", "score": "DOUBLE", "grp": "VARCHAR", "region": "VARCHAR"},
    "kv": {"key": "VARCHAR", "value": "VARCHAR", "version": "BIGINT", "grp": "VARCHAR", "region": "VARCHAR"},
}
NUMERIC = {"BIGINT", "DOUBLE", "DECIMAL(38,6)"}
AS_TEXT = {"DECIMAL(38,6)", "TIMESTAMP"}  # shipped as text (exact), cast back by the coordinator
SPLITTABLE = {"count_star", "count", "sum", "min", "max", "avg"}
FAULTY_EVENTS = "events_n0"


@dataclass
class MemberQuery:
    sql: str                          # what each member runs (over its views events, events_n0, kv)
    types: dict[str, str] | None = None  # column -> type the coordinator loads it as; None: as the member says


@dataclass
class Plan:
    kind: str                                  # aggregate, rows, filter or ship
    member: dict[str, MemberQuery] = field(default_factory=dict)  # table the coordinator loads -> query
    final: str = ""                            # what the coordinator runs over the loaded tables


class Planner:
    """Plans queries on ``con``: a DuckDB connection holding the empty tables, external access off."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.aggregates = {r[0].lower() for r in con.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'aggregate'").fetchall()}

    # -- printing and parsing --

    def _tree(self, sql: str) -> dict:
        tree = json.loads(self.con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        if tree.get("error"):
            raise ValueError(tree.get("error_message", "unparsable"))
        return tree

    def _print(self, statement: dict) -> str:
        tree = {"error": False, "statements": [statement]}
        return self.con.execute("SELECT json_deserialize_sql(?)", [json.dumps(tree)]).fetchone()[0]

    def _expressions(self, text: str) -> list[dict]:
        """The select-list nodes of ``SELECT <text>`` (templates for the expressions the planner adds)."""
        return self._tree(f"SELECT {text}")["statements"][0]["node"]["select_list"]

    # -- the plan --

    def plan(self, sql: str, tables: list[str], faulty: bool) -> Plan:
        try:
            tree = self._tree(sql)
        except Exception:  # noqa: BLE001 - the coordinator's engine reports the error on the shipped rows
            tree = None
        if tree is not None and len(tree.get("statements", [])) == 1:
            try:
                single = self._single_table(sql, tree, faulty)
                if single is not None:  # printed queries that do not bind (a printer gap): ship instead
                    for query in single.member.values():
                        self.con.sql(query.sql.replace(FAULTY_EVENTS, "events")).columns  # noqa: B018
                    if single.kind != "aggregate":
                        self.con.sql(single.final).columns  # noqa: B018
            except Exception:  # noqa: BLE001 - anything unforeseen in the tree: the plan that always holds
                single = None
            if single is not None:
                return single
        refs, star = _refs(tree) if tree is not None else (set(), True)
        plan = Plan("ship", final=sql)
        for table in tables:
            cols = list(COLUMNS[table]) if star else [c for c in COLUMNS[table] if c in refs]
            plan.member[table] = self._projection(table, cols or [next(iter(COLUMNS[table]))], faulty)
        return plan

    def _projection(self, table: str, cols: list[str], faulty: bool) -> MemberQuery:
        source = f"{FAULTY_EVENTS} AS events" if faulty and table == "events" else table
        return MemberQuery(f"SELECT {_select_text(table, cols)} FROM {source}",
                           {c: COLUMNS[table][c] for c in cols})

    def _single_table(self, sql: str, tree: dict, faulty: bool) -> Plan | None:
        stmt = tree["statements"][0]
        node = stmt["node"]
        source = node.get("from_table") or {}
        if node.get("type") != "SELECT_NODE" or node["cte_map"]["map"] or source.get("type") != "BASE_TABLE" \
                or source.get("schema_name") or source.get("catalog_name") or source.get("sample") \
                or node.get("sample") or source.get("at_clause") or source.get("column_name_alias"):
            return None
        table = str(source.get("table_name", "")).lower()
        if table not in COLUMNS or any(n.get("class") == "SUBQUERY" or n.get("type") == "SUBQUERY"
                                       for n in _walk(node)):
            return None
        columns = COLUMNS[table]
        refs, star = _refs(tree)
        cols = list(columns) if star else [c for c in columns if c in refs] or [next(iter(columns))]
        where = node.get("where_clause")
        if where is not None and any(n.get("class") in ("WINDOW",) or _is_aggregate(n, self.aggregates)
                                     for n in _walk(where)):
            return None  # the engine's error, from the shipped rows
        aggregates = [n for part in _outputs(node) for n in _walk(part) if _is_aggregate(n, self.aggregates)]
        windows = any(n.get("class") == "WINDOW" for part in _outputs(node) for n in _walk(part)) \
            or node.get("qualify") is not None
        member_stmt = copy.deepcopy(stmt)
        mnode = member_stmt["node"]
        mnode.update(group_expressions=[], group_sets=[], having=None, qualify=None, modifiers=[],
                     aggregate_handling="STANDARD_HANDLING")
        if faulty and table == "events":
            msource = mnode["from_table"]
            msource["alias"] = msource["alias"] or msource["table_name"]
            msource["table_name"] = FAULTY_EVENTS
            msource["qualified_name"] = {"path": [FAULTY_EVENTS]}
        final = copy.deepcopy(stmt)
        final["node"]["where_clause"] = None
        if (aggregates or node["group_expressions"]) and not windows:
            split = self._aggregate(sql, tree, member_stmt, final, aggregates)
            if split is not None:
                return split
        if aggregates or node["group_expressions"] or windows:
            mnode["select_list"] = self._expressions(_select_text(table, cols))
            return Plan("filter", {table: MemberQuery(self._print(member_stmt), {c: columns[c] for c in cols})},
                        self._print(final))
        mnode["modifiers"] = self._row_modifiers(node, columns)
        # an ORDER BY on the member binds to the select list's names first: no text casts under them there
        ordered = any(m["type"] == "ORDER_MODIFIER" for m in mnode["modifiers"])
        mnode["select_list"] = self._expressions(_select_text(table, cols, as_text=not ordered))
        return Plan("rows", {table: MemberQuery(self._print(member_stmt), {c: columns[c] for c in cols})},
                    self._print(final))

    def _row_modifiers(self, node: dict, columns: dict[str, str]) -> list[dict]:
        """What a member may apply of the query's DISTINCT, ORDER BY and LIMIT (see the module doc)."""
        kinds = {m["type"]: m for m in node["modifiers"]}
        if "DISTINCT_MODIFIER" in kinds:
            plain = not kinds["DISTINCT_MODIFIER"].get("distinct_on_targets")
            return [{"type": "DISTINCT_MODIFIER", "distinct_on_targets": []}] if plain else []
        limit = kinds.get("LIMIT_MODIFIER")
        if limit is None or set(kinds) - {"ORDER_MODIFIER", "LIMIT_MODIFIER"} \
                or [m["type"] for m in node["modifiers"]][-1] != "LIMIT_MODIFIER":
            return []
        count = _constant_int(limit.get("limit"))
        offset = 0 if limit.get("offset") is None else _constant_int(limit.get("offset"))
        if count is None or offset is None or limit.get("limit_type", "ROW_COUNT") != "ROW_COUNT":
            return []
        out = []
        if "ORDER_MODIFIER" in kinds:
            aliases = {str(item.get("alias", "")).lower() for item in node["select_list"]} - {""}
            for order in kinds["ORDER_MODIFIER"]["orders"]:
                found = list(_walk(order["expression"]))
                names = {n["column_names"][-1].lower() for n in found if n.get("class") == "COLUMN_REF"}
                if not names or names - set(columns) or names & aliases \
                        or any(n.get("class") in ("CONSTANT", "STAR", "WINDOW") or _is_aggregate(n, self.aggregates)
                               for n in found):
                    return []
            out.append(copy.deepcopy(kinds["ORDER_MODIFIER"]))
        template = self._tree(f"SELECT 1 LIMIT {count + offset}")["statements"][0]["node"]["modifiers"][0]
        return [*out, template]

    def _aggregate(self, sql: str, tree: dict, member_stmt: dict, final: dict,
                   aggregates: list[dict]) -> Plan | None:
        node = tree["statements"][0]["node"]
        table = str(node["from_table"]["table_name"]).lower()
        columns = COLUMNS[table]
        if node.get("aggregate_handling") != "STANDARD_HANDLING":
            return None
        groups = node["group_expressions"]
        if any(g.get("class") != "COLUMN_REF" or g["column_names"][-1].lower() not in columns for g in groups) \
                or node["group_sets"] not in ([], [list(range(len(groups)))]):
            return None
        group_names = [g["column_names"][-1].lower() for g in groups]
        if len(set(group_names)) != len(group_names):
            return None
        specs: dict[str, tuple[str, str | None]] = {}
        distinct: list[str] = []  # columns of DISTINCT aggregates: members group by them too
        for agg in aggregates:
            name = agg["function_name"].lower()
            args = agg.get("arguments", [])
            if name not in SPLITTABLE or agg.get("filter") is not None \
                    or agg.get("order_bys", {}).get("orders") or agg.get("export_state"):
                return None
            if name == "count_star":
                if args or agg.get("distinct"):
                    return None
                arg = None
            else:
                if len(args) != 1 or args[0].get("name") or args[0]["expression"].get("class") != "COLUMN_REF":
                    return None
                arg = args[0]["expression"]["column_names"][-1].lower()
                if arg not in columns or name in ("sum", "avg") and columns[arg] not in NUMERIC:
                    return None
            if agg.get("distinct"):
                if arg not in distinct and arg not in group_names:
                    distinct.append(arg)
                continue  # computed by the coordinator over the members' distinct values
            specs.setdefault(f"{name}({arg or '*'})", (name, arg))
        # every column named outside the aggregates must be a GROUP BY column (or the engine's error: shipped)
        for part in _outputs(node):
            for ref in _outside_aggregates(part, self.aggregates):
                name = ref["column_names"][-1].lower()
                if name in columns and name not in group_names:
                    return None
        if any(n.get("class") == "STAR" for part in _outputs(node) for n in _walk(part)):
            return None
        member_items: list[str] = [f'"{g}" AS "{g}"' for g in group_names + distinct]
        combine: dict[str, str] = {}
        for number, (key, (name, arg)) in enumerate(specs.items()):
            p = f"p{number}"
            if name == "count_star":
                member_items.append(f'count(*) AS "{p}"')
                combine[key] = f'CAST(COALESCE(sum("{p}"), 0) AS BIGINT)'
            elif name == "count":
                member_items.append(f'count("{arg}") AS "{p}"')
                combine[key] = f'CAST(COALESCE(sum("{p}"), 0) AS BIGINT)'
            elif name == "avg":
                member_items += [f'sum("{arg}") AS "{p}s"', f'count("{arg}") AS "{p}c"']
                combine[key] = f'CAST(CAST(sum("{p}s") AS DOUBLE) / sum("{p}c") AS DOUBLE)'
            else:
                whole = {"BIGINT": "HUGEINT"}.get(columns[arg], columns[arg]) if name == "sum" else columns[arg]
                member_items.append(f'{name}("{arg}") AS "{p}"')
                combine[key] = f'CAST({"sum" if name == "sum" else name}("{p}") AS {whole})'
        mnode = member_stmt["node"]
        mnode["select_list"] = self._expressions(", ".join(member_items))
        mnode["group_expressions"] = copy.deepcopy(groups) + (
            self._expressions(", ".join(f'"{d}"' for d in distinct)) if distinct else [])
        width = len(mnode["group_expressions"])
        mnode["group_sets"] = [list(range(width))] if width else []
        # the coordinator's query: the same tree, WHERE gone, each aggregate replaced by its combination; the
        # output names stay those of the original query (as the engine names them)
        names = self.con.sql(sql).columns
        templates = dict(zip(combine, self._expressions(", ".join(combine.values())), strict=True)) if combine else {}
        fnode = final["node"]
        fnode["select_list"] = [_replace(item, templates, self.aggregates) for item in fnode["select_list"]]
        for item, name in zip(fnode["select_list"], names, strict=True):
            item["alias"] = item.get("alias") or name
        if fnode.get("having") is not None:
            fnode["having"] = _replace(fnode["having"], templates, self.aggregates)
        fnode["modifiers"] = [_replace(m, templates, self.aggregates) for m in fnode["modifiers"]]
        return Plan("aggregate", {table: MemberQuery(self._print(member_stmt))}, self._print(final))


# -- tree helpers --

def _walk(x: Any) -> Iterator[dict]:
    """Every node (dict) of a parse tree, depth first; bounded by the tree's size."""
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refs(tree: dict) -> tuple[set[str], bool]:
    """Column names referred to anywhere (last name part, lower case) and whether a * appears."""
    refs, star = set(), False
    for n in _walk(tree):
        if n.get("class") == "COLUMN_REF" and n.get("column_names"):
            refs.add(str(n["column_names"][-1]).lower())
        elif n.get("class") == "STAR" or n.get("type") == "COLUMNS":
            star = True
    return refs, star


def _is_aggregate(n: dict, aggregates: set[str]) -> bool:
    return n.get("class") == "FUNCTION" and str(n.get("function_name", "")).lower() in aggregates \
        and not n.get("is_operator")


def _outputs(node: dict) -> list[Any]:
    """The parts evaluated after grouping: select list, HAVING, QUALIFY and the modifiers (ORDER BY...)."""
    return [node["select_list"], node.get("having"), node.get("qualify"), node["modifiers"]]


def _outside_aggregates(x: Any, aggregates: set[str]) -> Iterator[dict]:
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _is_aggregate(item, aggregates):
                continue
            if item.get("class") == "COLUMN_REF":
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _agg_key(n: dict) -> str:
    name = n["function_name"].lower()
    args = n.get("arguments", [])
    arg = args[0]["expression"]["column_names"][-1].lower() if args else None
    return f"{name}({arg or '*'})"


def _replace(x: Any, templates: dict[str, dict], aggregates: set[str]) -> Any:
    """A copy of ``x`` with each aggregate node replaced by its combination (the node's alias kept)."""
    if isinstance(x, dict):
        if _is_aggregate(x, aggregates) and x.get("distinct"):
            return copy.deepcopy(x)  # over the members' distinct values, as it is
        if _is_aggregate(x, aggregates):
            new = copy.deepcopy(templates[_agg_key(x)])
            new["alias"] = x.get("alias", "")
            return new
        return {k: _replace(v, templates, aggregates) for k, v in x.items()}
    if isinstance(x, list):
        return [_replace(v, templates, aggregates) for v in x]
    return x


def _constant_int(n: Any) -> int | None:
    if not isinstance(n, dict) or n.get("class") != "CONSTANT":
        return None
    literal = n.get("literal", {})
    try:
        value = int(literal.get("text", ""))
    except (TypeError, ValueError):
        return None
    return value if literal.get("kind") in ("INTEGER", "BIGINT", "HUGEINT", "UBIGINT") and 0 <= value < 2 ** 62 \
        else None


def _select_text(table: str, cols: list[str], as_text: bool = True) -> str:
    """A member's select list for ``cols``: decimals and timestamps as text (exact in JSON; else the member
    encodes each such cell)."""
    return ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' if as_text and COLUMNS[table][c] in AS_TEXT else f'"{c}"'
                     for c in cols)
