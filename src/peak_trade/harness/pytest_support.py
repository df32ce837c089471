"""syrupy glue: one readable JSON snapshot file per scenario, named by the scenario id.

The only harness module that imports a test library; everything it snapshots is rendered by
`snapshot.render_snapshot`, so pytest and the CLI compare the very same text.
"""

from __future__ import annotations

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.location import PyTestLocation
from syrupy.types import SnapshotIndex

from peak_trade.harness.snapshot import SNAPSHOT_SUFFIX


class AuditTrailSnapshot(SingleFileSnapshotExtension):
    """`tests/__snapshots__/<test file>/<scenario id>.json`, plain UTF-8 text."""

    _write_mode = WriteMode.TEXT
    file_extension = SNAPSHOT_SUFFIX.lstrip(".")

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        # "test_scenario[happy_path]" -> "happy_path": the parametrize id is the scenario id.
        name = test_location.snapshot_name
        return name[name.index("[") + 1 : name.rindex("]")] if "[" in name else name
