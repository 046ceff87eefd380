"""Makes maturin's sdist of this layout build the same wheel as the repository does.

    python fix-sdist.py SDIST.tar.gz       (rewrites the archive in place)

maturin 1.16 packs the core crate (the workspace root, which the binding depends on by path)
through `cargo package --list`, so its `include` list keeps the fixtures, tests, benchmarks
and examples out. Two things in the archive then need the edit that maturin makes for other
layouts but not for a workspace root that is also a path dependency:

* the root `Cargo.toml` still declares `[[test]]`, `[[bench]]` and `[[example]]` targets whose
  files were left out, and cargo refuses to load a manifest naming a missing target file: the
  targets whose file is absent are dropped (as `cargo package` does for a published crate);
* `pyproject.toml` moves from `python/` to the archive's root, where `README.md` is the
  crate's README, not the package's: `project.readme` is pointed back at the binding's
  directory, so that a wheel built from the sdist carries the package's own description.

Needs tomlkit (python/requirements-build.txt). Reports what it changed on stderr.
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import PurePosixPath

import tomlkit

# Cargo's default locations of a named target, relative to the crate's root.
TARGET_DIRS = {"bin": "src/bin", "example": "examples", "test": "tests", "bench": "benches"}


def target_files(kind: str, target) -> list[str]:
    """The files cargo would take a `[[kind]]` target's source from."""
    if "path" in target:
        return [str(target["path"])]
    base = f"{TARGET_DIRS[kind]}/{target['name']}"
    return [f"{base}.rs", f"{base}/main.rs"]


def drop_missing_targets(manifest: str, present: set[str]) -> tuple[str, list[str]]:
    """The manifest without the targets whose source file is not in `present` (paths relative
    to the crate), and the names of the targets dropped."""
    doc = tomlkit.parse(manifest)
    dropped = []
    for kind in TARGET_DIRS:
        if kind not in doc:
            continue
        kept = tomlkit.aot()
        for target in doc[kind]:
            if any(f in present for f in target_files(kind, target)):
                kept.append(target)
            else:
                dropped.append(f"{kind} {target['name']}")
        if len(kept):
            doc[kind] = kept
        else:
            del doc[kind]
    package = doc.get("package", {})
    if f"bin {package.get('default-run')}" in dropped:
        del package["default-run"]
    return tomlkit.dumps(doc), dropped


def point_readme_at_binding(pyproject: str) -> tuple[str, str | None]:
    """`project.readme` rebased from the binding's directory (where pyproject.toml lies in the
    repository) to the archive's root; the new path, or None when there is nothing to rebase."""
    doc = tomlkit.parse(pyproject)
    readme = doc.get("project", {}).get("readme")
    if not isinstance(readme, str):
        return pyproject, None
    crate_dir = PurePosixPath(str(doc["tool"]["maturin"]["manifest-path"])).parent
    if crate_dir == PurePosixPath("."):
        return pyproject, None
    rebased = str(crate_dir / readme)
    doc["project"]["readme"] = rebased
    return tomlkit.dumps(doc), rebased


def fix(path: str) -> None:
    with tarfile.open(path, "r:gz") as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src]
        fmt = src.format
    root = PurePosixPath(members[0][0].name).parts[0]
    files = {str(PurePosixPath(m.name).relative_to(root)): data for m, data in members}
    manifest, dropped = drop_missing_targets(files["Cargo.toml"].decode(), set(files))
    pyproject, readme = point_readme_at_binding(files["pyproject.toml"].decode())
    if readme is not None and readme not in files:
        sys.exit(f"fix-sdist: project.readme {readme!r} is not in {path}")
    edits = {"Cargo.toml": manifest.encode(), "pyproject.toml": pyproject.encode()}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as out:
        for member, data in members:
            data = edits.get(str(PurePosixPath(member.name).relative_to(root)), data)
            if data is not None:
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    print(f"fix-sdist: dropped {', '.join(dropped) or 'no target'}; readme {readme}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fix(sys.argv[1])
