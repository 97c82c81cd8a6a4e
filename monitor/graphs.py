"""The dependency graph of one AB: the ABs whose products it uses (upstream, to the left) and
the ABs that use its products (downstream, to the right), followed transitively but bounded,
drawn as a server-side SVG whose nodes carry the state colour and link to their AB pages.

Bounded: one query on the dependency table per level walked (at most MAX_DEPTH each way) and
one for the nodes, whatever the number of ABs; at most MAX_NODES ABs are drawn, and the graph
says when it was cut.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from processing.choices import AbStatus
from processing.models import AssociationBlock

MAX_DEPTH = 6
MAX_NODES = 50
# layout, in SVG user units (px)
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 250, 24, 60, 8, 10


@dataclass
class Node:
    pk: int
    name: str = ""
    status: str = ""
    raw_type: str = ""
    level: int = 0  # < 0 upstream, 0 the AB itself, > 0 downstream
    column: int = 0
    row: int = 0

    @property
    def x(self):
        return self.column * (NODE_W + GAP_X) + PAD

    @property
    def y(self):
        return self.row * (NODE_H + GAP_Y) + PAD


@dataclass
class Graph:
    root: int
    nodes: dict = field(default_factory=dict)  # pk → Node
    edges: set = field(default_factory=set)  # (dependency pk, dependant pk)
    cut: bool = False  # MAX_DEPTH or MAX_NODES stopped the walk
    size: tuple = (1, 1)  # columns, rows of the layout

    @property
    def upstream(self):
        return [n for n in self.nodes.values() if n.level < 0]

    @property
    def downstream(self):
        return [n for n in self.nodes.values() if n.level > 0]

    def direct(self, upstream):
        """The ABs `root` depends on directly (upstream) or that depend on it directly."""
        pairs = [(a, b) for a, b in self.edges if (b if upstream else a) == self.root]
        return sorted((self.nodes[a if upstream else b] for a, b in pairs), key=lambda n: n.name)


def dependency_graph(ab):
    """Walk the dependencies of `ab` both ways (bounded) and lay the nodes out in columns."""
    graph = Graph(root=ab.pk)
    graph.nodes[ab.pk] = Node(ab.pk)
    through = AssociationBlock.depends_on.through
    for upstream in (True, False):
        mine, theirs = ("from_associationblock_id", "to_associationblock_id")[:: 1 if upstream else -1]
        frontier, depth = {ab.pk}, 0
        while frontier:
            if depth == MAX_DEPTH:
                graph.cut = True
                break
            depth += 1
            pairs = list(through.objects.filter(**{f"{mine}__in": frontier})
                         .values_list(mine, theirs)[: MAX_NODES * 4])  # fmt: skip
            frontier = set()
            for near, far in pairs:
                if far not in graph.nodes:
                    if len(graph.nodes) >= MAX_NODES:
                        graph.cut = True
                        continue
                    graph.nodes[far] = Node(far)
                    frontier.add(far)
                graph.edges.add((far, near) if upstream else (near, far))
    rows = AssociationBlock.objects.filter(pk__in=graph.nodes).values_list(
        "pk", "ab_name", "status", "raw_type")
    for pk, name, status, raw_type in rows:
        node = graph.nodes[pk]
        node.name, node.status, node.raw_type = name, status, raw_type
    _layer(graph)
    return graph


def _layer(graph):
    """Longest-path levels (a dark used by a flat and by the science AB sits left of the flat),
    then one column per level, rows in name order."""
    root = graph.root
    up = {n for n in graph.nodes if n != root and _reaches(graph, n, root)}
    for pk in graph.nodes:
        graph.nodes[pk].level = 0
    for _ in range(len(graph.nodes)):  # relaxation on a DAG of ≤ MAX_NODES nodes
        changed = False
        for dependency, dependant in graph.edges:
            a, b = graph.nodes[dependency], graph.nodes[dependant]
            if dependency in up and (dependant in up or dependant == root) and a.level > b.level - 1:
                a.level, changed = b.level - 1, True
            elif dependant not in up and dependant != root and b.level < a.level + 1:
                b.level, changed = a.level + 1, True
        if not changed:
            break
    low = min(n.level for n in graph.nodes.values())
    columns = {}
    for node in sorted(graph.nodes.values(), key=lambda n: (n.level, n.name)):
        node.column = node.level - low
        node.row = columns.get(node.column, 0)
        columns[node.column] = node.row + 1
    graph.size = (max(columns) + 1, max(columns.values()))


def _reaches(graph, start, goal):
    """Whether `goal` depends (transitively, within the graph) on `start`."""
    seen, stack = set(), [start]
    while stack:
        pk = stack.pop()
        if pk == goal:
            return True
        if pk in seen:
            continue
        seen.add(pk)
        stack += [b for a, b in graph.edges if a == pk]
    return False


def svg(graph):
    """The graph as inline SVG: nodes coloured by state, linking to their AB pages."""
    columns, rows = graph.size
    width = columns * (NODE_W + GAP_X) - GAP_X + 2 * PAD
    height = rows * (NODE_H + GAP_Y) - GAP_Y + 2 * PAD
    edges = format_html_join("", '<path d="M{},{} C{},{} {},{} {},{}"/>', (
        (a.x + NODE_W, a.y + NODE_H / 2, a.x + NODE_W + GAP_X / 2, a.y + NODE_H / 2,
         b.x - GAP_X / 2, b.y + NODE_H / 2, b.x, b.y + NODE_H / 2)
        for a, b in ((graph.nodes[x], graph.nodes[y]) for x, y in sorted(graph.edges))
    ))  # fmt: skip
    nodes = format_html_join("", (
        '<a href="{}"><g class="node{}" data-ab="{}"><title>{} · {} · {}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="3" style="stroke:{}"/>'
        '<rect x="{}" y="{}" width="8" height="{}" style="fill:{};stroke:none"/>'
        '<text x="{}" y="{}">{}</text></g></a>'
    ), (
        (reverse("monitor:ab", args=[n.pk]), " root" if n.pk == graph.root else "", n.name,
         n.name, n.raw_type, AbStatus(n.status).label if n.status in AbStatus.values else n.status,
         n.x, n.y, NODE_W, NODE_H, _colour(n.status), n.x, n.y, NODE_H, _colour(n.status),
         n.x + 14, n.y + NODE_H / 2 + 4, _short(n.name))
        for n in sorted(graph.nodes.values(), key=lambda n: (n.column, n.row))
    ))  # fmt: skip
    return format_html(
        '<svg class="dependency-graph" role="img" aria-label="dependency graph" width="{}" '
        'height="{}" viewBox="0 0 {} {}"><g class="edges">{}</g>{}</svg>',
        width, height, width, height, edges, nodes,
    )  # fmt: skip


def _colour(status):
    return AbStatus.colour(status) if status in AbStatus.values else "#9aa5b1"


def _short(name, limit=34):
    return name if len(name) <= limit else "…" + name[-(limit - 1):]
