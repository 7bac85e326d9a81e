"""The dependency rule, as data: which package may import which. ``python -m config.layers`` prints the graph.

Apps are ordered top to bottom; a module may import its own app and any app below it, never one above. The
plain libraries import no Django and no app, only each other. ``tests/test_layers.py`` enforces both by reading
every import statement of the tree (including imports inside functions), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import collections
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. Each app may use the ones after it.
APPS = (
    "config",  # settings, urls, the Celery app, health probes
    "demo",  # manage.py demo: the whole product on the embedded defaults
    "console",  # the reviewers' web console
    "verifier",  # public verification: names jobs and consents
    "generation",  # jobs: API, pipeline, quotas, the review queue
    "moderation",  # subjects and consents
    "provenance",  # C2PA signing and reading, inspecting a file, the generated-media check
    "webhooks",  # partners' endpoints and signed deliveries
    "accounts",  # partners, reviewers, keys, throttles, the audit chain
    "core",  # errors, request context, API helpers, storage, media checks, enqueue, HTTP helpers
)

# Plain libraries (no Django, no app), usable from any layer.
LIBRARIES = ("gpu_worker", "moderation.verification", "provenance.watermark")


@dataclass(frozen=True)
class Import:
    """One import statement: the importing module's file and line, and the module it names."""

    path: Path
    line: int
    module: str


def _imports(path: Path) -> Iterator[Import]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # ``from app import module`` names modules too: check each as ``app.module``.
            yield Import(path, node.lineno, node.module)
            for alias in node.names:
                yield Import(path, node.lineno, f"{node.module}.{alias.name}")


def module_of(path: Path, root: Path = ROOT) -> str:
    """The dotted module name of a file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def component_of(module: str) -> str | None:
    """The library or app a module belongs to (the most specific library wins), or None outside the tree."""
    for library in sorted(LIBRARIES, key=len, reverse=True):
        if module == library or module.startswith(library + "."):
            return library
    top = module.split(".")[0]
    return top if top in APPS else None


def source_files(root: Path = ROOT) -> Iterator[Path]:
    """Every Python file of the apps and libraries, migrations left out (they name models, not code)."""
    for top in sorted({name.split(".")[0] for name in APPS + LIBRARIES}):
        for path in sorted((root / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def edges(root: Path = ROOT) -> dict[str, dict[str, list[Import]]]:
    """Component -> components it imports -> the import statements that do it."""
    graph: dict[str, dict[str, list[Import]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in source_files(root):
        source = component_of(module_of(path, root))
        if source is None:
            continue
        for imp in _imports(path):
            target = component_of(imp.module)
            if target is not None and target != source:
                graph[source][target].append(imp)
    return graph


def violations(root: Path = ROOT) -> list[str]:
    """Every import that runs the wrong way, as ``file:line: a -> b (why)``."""
    found: list[str] = []
    rank = {app: index for index, app in enumerate(APPS)}
    for source, targets in edges(root).items():
        for target, imports in targets.items():
            if source in LIBRARIES and target not in LIBRARIES:
                why = "a plain library imports an app"
            elif source in rank and target in rank and rank[target] < rank[source]:
                why = f"{source} is below {target}"
            else:
                continue
            for imp in imports:
                found.append(f"{imp.path.relative_to(root)}:{imp.line}: {source} -> {imp.module} ({why})")
    for path in source_files(root):
        if component_of(module_of(path, root)) in LIBRARIES:
            for imp in _imports(path):
                if imp.module.split(".")[0] in ("django", "rest_framework", "celery"):
                    found.append(f"{path.relative_to(root)}:{imp.line}: imports {imp.module} (libraries stay plain)")
    return sorted(set(found))


def main() -> int:
    """Print each component's dependencies, top to bottom, then any violation."""
    graph = edges()
    for component in APPS + LIBRARIES:
        print(f"{component:24} -> {', '.join(sorted(graph.get(component, {}))) or '-'}")
    problems = violations()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
