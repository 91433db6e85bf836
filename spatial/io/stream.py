"""Layers as streams of Arrow batches for GDAL and Parquet, and layers too large for memory (:class:`Spill`).

Every writer of layers (GeoPackage, GeoJSON, GeoParquet) takes its rows from :func:`layer_stream`:
sorted by id, attributes and coordinates rounded (:mod:`spatial.io.precision`), geometry as WKB,
in batches of bounded size (:func:`write_spans`). A layer in memory and the same layer spilled to
disk and streamed back give the same batches, so the same bytes in every format.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geoarrow.pyarrow as ga
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..overlap import count_spans
from .files import MULTI, by_id, multi_parts
from .precision import coordinate_decimals, rounded, rounded_geometries

#: Name of the geometry column of every stream (GDAL's default for GeoPackage).
GEOMETRY = "geom"
#: Features, and vertices, rounded, encoded and written at once (a layer is appended to in batches).
WRITE_BATCH = 4096
WRITE_VERTICES = 262_144
#: A file system with less room than this is taken as full when GDAL fails to write.
FULL_BYTES = 1 << 20


def wkb_array(wkb: np.ndarray) -> pa.Array:
    """An Arrow binary array of the WKB ``bytes`` in ``wkb`` (None: null; under 2 GiB, as a write batch is),
    built from one joined buffer, its offsets and validity: ``pa.array`` converts an object array
    value by value, ten times slower."""
    present = np.fromiter((w is not None for w in wkb), dtype=bool, count=len(wkb))
    offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(w) if w is not None else 0 for w in wkb), dtype=np.int64, count=len(wkb)),
              out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise OverflowError(f"{offsets[-1]} bytes of WKB in one batch: more than an Arrow binary array holds")
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), len(wkb), [validity, pa.py_buffer(offsets.astype(np.int32)),
                                                         pa.py_buffer(b"".join(w for w in wkb if w is not None))])


def _plain_type(kind: pa.DataType) -> pa.DataType:
    """The type a stream's column has whatever made it: text as ``string`` (pandas gives
    ``large_string``), WKB as ``binary`` (GDAL reading a spill gives the ``geoarrow.wkb`` extension
    type once geoarrow is loaded), so that a layer and its spill give the same batches."""
    kind = kind.storage_type if isinstance(kind, pa.ExtensionType) else kind
    return pa.string() if pa.types.is_large_string(kind) else pa.binary() if pa.types.is_large_binary(kind) else kind


#: shapely's type ids by family (points, lines, polygons).
_FAMILY = {0: 0, 4: 0, 1: 1, 5: 1, 3: 2, 6: 2}
#: The multi type id of each single one (points stay points: see :func:`spatial.io.files.multi_parts`).
_MULTI_ID = {1: 5, 3: 6}


def _one_array(geoms: np.ndarray, *, multi: bool) -> bool:
    """Whether ``geoms`` fit one GeoArrow array of the type they are written as: one geometry type,
    or with ``multi`` lines or polygons single and multi; none missing, empty or 3D."""
    kinds = set(np.unique(shapely.get_type_id(geoms)).tolist())
    families = {_FAMILY.get(k, -1) for k in kinds}
    return (len(families) == 1 and -1 not in families and (len(kinds) == 1 or (multi and families != {0}))
            and not shapely.is_empty(geoms).any() and not shapely.has_z(geoms).any())


def rounded_wkb(geoms: np.ndarray, epsg: int, *, multi: bool) -> pa.Array:
    """WKB of ``geoms`` (a write batch) as an Arrow binary array: coordinates rounded point by point
    (:func:`spatial.io.precision.coordinate_decimals`), and with ``multi`` single lines and polygons
    made one-part multi geometries.

    A batch that fits one GeoArrow array (:func:`_one_array`; overlap pieces and most layers do) is
    rounded as one coordinate array and encoded by GeoArrow's C library (``geoarrow.pyarrow.as_wkb``)
    instead of GEOS cloning, rounding and encoding geometry by geometry: writing the national
    benchmark's 302,770 pieces went from 5.9 to 3.9 s. Other batches go through GEOS. The bytes are
    the same.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not _one_array(geoms, multi=multi):
        rounded = rounded_geometries(geoms, epsg)
        return wkb_array(shapely.to_wkb(multi_parts(rounded) if multi else rounded))
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    storage = pa.FixedSizeListArray.from_arrays(pa.array(np.round(coords, coordinate_decimals(epsg)).ravel()), 2)
    for level in offsets:  # innermost first: rings (or parts), then polygons, then geometries
        storage = pa.ListArray.from_arrays(pa.array(level.astype(np.int32)), storage)
    kind = int(kind)
    if multi and kind in _MULTI_ID:
        storage, kind = pa.ListArray.from_arrays(pa.array(np.arange(len(geoms) + 1, dtype=np.int32)), storage), \
            _MULTI_ID[kind]
    native = {0: ga.point, 1: ga.linestring, 3: ga.polygon, 4: ga.multipoint, 5: ga.multilinestring,
              6: ga.multipolygon}[kind]().with_coord_type(ga.CoordType.INTERLEAVED)
    return ga.as_wkb(pa.ExtensionArray.from_storage(native, storage.cast(native.storage_type))).storage


def arrow_batches(rows: gpd.GeoDataFrame, epsg: int, *, multi: bool) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The layer's schema and its rows as Arrow batches (:func:`write_spans`): attributes rounded (typed
    once for the whole layer; a column of nothing but NULL is text), coordinates rounded (and
    with ``multi`` single parts made one-part multi geometries) one batch at a time, geometry as
    WKB in column :data:`GEOMETRY`."""
    attrs = pa.Table.from_pandas(pd.DataFrame(rounded(rows.drop(columns=rows.geometry.name))), preserve_index=False)
    attrs = attrs.cast(pa.schema([f.with_type(pa.string() if pa.types.is_null(f.type) else _plain_type(f.type))
                                  for f in attrs.schema]))
    schema = attrs.schema.append(pa.field(GEOMETRY, pa.binary()))

    def batches() -> Iterator[pa.RecordBatch]:
        for part in write_spans(shapely.get_num_coordinates(rows.geometry.values)):
            wkb = rounded_wkb(rows.geometry.values[part], epsg, multi=multi)
            table = attrs.slice(part.start, part.stop - part.start).append_column(GEOMETRY, wkb)
            yield from table.combine_chunks().to_batches()

    return schema, batches()


def write_arrow(reader: pa.RecordBatchReader, path: Path, **options) -> None:
    """:func:`pyogrio.write_arrow`, with GDAL's failure to write raised as an :class:`OSError` that
    names the file (the CLI says it in one line): "no space left" when its file system has less
    than :data:`FULL_BYTES` free (GDAL's own last words then are about a table the full disk kept
    it from creating), else GDAL's message without the SQL it ran."""
    try:
        pyogrio.write_arrow(reader, path, **options)
    except (DataSourceError, DataLayerError) as exc:
        room = os.statvfs(Path(path).parent)
        if room.f_bavail * room.f_frsize < FULL_BYTES:
            raise OSError(errno.ENOSPC, "could not be written: no space left on its file system", str(path)) from None
        said = re.sub(r"sqlite3_exec\(.*\) failed", "SQLite failed", str(exc).splitlines()[0])[:200]
        raise OSError(errno.EIO, f"could not be written ({said})", str(path)) from None


class Spill:
    """A layer too large for memory: rows appended a part at a time to a scratch GeoPackage in
    ``folder`` (coordinates and attributes rounded, single parts made multi, no index), and
    streamed back sorted by id (SQLite sorts on disk) into any layer writer, in the batches the
    whole layer would be written in: the same bytes. Ids and vertex counts stay in memory."""

    LAYER = "rows"
    #: Rows read back at a time (a few huge pieces at most in memory).
    READ_BATCH = 256

    def __init__(self, folder: str | Path, *, epsg: int = 4326) -> None:
        self.path = Path(folder) / "spill.gpkg"
        self.epsg = epsg
        self.columns: list[str] | None = None
        self.rows = 0
        self._ids: list[np.ndarray] = []
        self._vertices: list[np.ndarray] = []

    def append(self, rows: gpd.GeoDataFrame) -> None:
        """Add ``rows`` (any CRS; every part with the same columns) to the layer; parts without rows are skipped."""
        if not len(rows):
            return
        schema, batches = arrow_batches(rows.to_crs(self.epsg), self.epsg, multi=True)
        try:
            write_arrow(pa.RecordBatchReader.from_batches(schema, batches), self.path, layer=self.LAYER,
                        driver="GPKG", geometry_name=GEOMETRY, geometry_type="Unknown", crs=f"EPSG:{self.epsg}",
                        encoding="UTF-8", append=self.rows > 0, layer_options={"SPATIAL_INDEX": "NO"})
        except OSError as exc:
            raise OSError(exc.errno, f"{exc.strerror}: the scratch file of a run in chunks, in TMPDIR "
                          "(set TMPDIR to a folder with room)", exc.filename) from None
        self.columns = [c for c in rows.columns if c != rows.geometry.name]
        self.rows += len(rows)
        self._ids.append(rows["id"].to_numpy(dtype=str))
        self._vertices.append(shapely.get_num_coordinates(rows.geometry.values))

    @contextmanager
    def by_id(self) -> Iterator[pa.RecordBatchReader]:
        """The rows sorted by ``id`` as a stream of Arrow batches (geometry: WKB in column :data:`GEOMETRY`),
        cut as :func:`write_spans` cuts the layer."""
        ids = np.concatenate(self._ids)  # SQLite's order: UTF-8 bytes, that is code points, as numpy's
        spans = write_spans(np.concatenate(self._vertices)[np.argsort(ids, kind="stable")])
        with pyogrio.open_arrow(self.path, sql=f'SELECT * FROM "{self.LAYER}" ORDER BY id', use_pyarrow=True,
                                batch_size=self.READ_BATCH) as (meta, reader):
            name = meta["geometry_name"] or "wkb_geometry"
            schema = pa.schema([pa.field(GEOMETRY if f.name == name else f.name, _plain_type(f.type))
                                for f in reader.schema])
            yield pa.RecordBatchReader.from_batches(schema, recut(reader, spans, schema))


def recut(batches: Iterator[pa.RecordBatch], spans: list[slice], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` again, one batch per slice of ``spans`` (consecutive, from row 0), under
    ``schema`` (columns cast to its :func:`_plain_type` types)."""
    held: list[pa.RecordBatch] = []
    count = 0
    for span in spans:
        size = span.stop - span.start
        while count < size:
            batch = next(batches)
            columns = [(c.storage if isinstance(c, pa.ExtensionArray) else c).cast(f.type)
                       for c, f in zip(batch.columns, schema)]
            held.append(pa.RecordBatch.from_arrays(columns, schema=schema))
            count += len(batch)
        rows = pa.Table.from_batches(held, schema=schema)
        yield from rows.slice(0, size).combine_chunks().to_batches()
        held, count = rows.slice(size).to_batches(), count - size


def geometry_type(layer: gpd.GeoDataFrame, *, multi: bool) -> str:
    """The layer's geometry type for GDAL: the one type of all its geometries (single parts
    counted as multi with ``multi``), else ``Unknown`` (any)."""
    kinds = set(layer.geometry[~layer.geometry.is_empty].dropna().geom_type)
    if multi:
        kinds = {MULTI.get(kind, kind) for kind in kinds}
    return kinds.pop() if len(kinds) == 1 else "Unknown"


def write_spans(vertices: np.ndarray) -> list[slice]:
    """Row slices of at most :data:`WRITE_BATCH` features and about :data:`WRITE_VERTICES` vertices (rows'
    ``vertices``, see :func:`spatial.overlap.count_spans`); one empty slice for an empty layer, which
    creates it. GDAL writes each batch in a transaction of its own (the file's change counter)."""
    spans = count_spans(vertices, WRITE_VERTICES) or [slice(0, 0)]
    return [slice(a, min(a + WRITE_BATCH, s.stop)) for s in spans
            for a in range(s.start, max(s.stop, s.start + 1), WRITE_BATCH)]


@contextmanager
def layer_stream(layer: gpd.GeoDataFrame | Spill, epsg: int, *, multi: bool
                ) -> Iterator[tuple[pa.RecordBatchReader, str]]:
    """A layer's rows in ``epsg``, sorted by id, as Arrow batches (:func:`arrow_batches`; a spill's as
    it was spilled), and its geometry type for GDAL (:func:`geometry_type`)."""
    if isinstance(layer, Spill):
        if layer.epsg != epsg or not multi:
            raise ValueError(f"a spilled layer is written as it was spilled: EPSG:{layer.epsg}, multi geometries")
        with layer.by_id() as reader:
            yield reader, "MultiPolygon"
        return
    rows = by_id(layer).to_crs(epsg)
    schema, batches = arrow_batches(rows, epsg, multi=multi)
    yield pa.RecordBatchReader.from_batches(schema, batches), geometry_type(rows, multi=multi)
