"""bioarchive new --from: a record prefilled from image files validates apart from what only the depositor knows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from builder.cli import main
from builder.core.checks import Severity
from builder.core.settings import load_settings
from builder.records.load import load_record
from tests.support.records import ARCHIVE_TOML

FLAGS = [
    "--yes",
    "--title",
    "Nuclear shape in fixed mouse cells",
    "--author",
    "Ada Lovelace",
    "--email",
    "ada@example.org",
    "--organism",
    "NCBITaxon:10090",
    "--licence",
    "CC0-1.0",
]

OME_XML = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">
 <Instrument ID="Instrument:0">
  <Microscope Manufacturer="Zeiss" Model="LSM 980"/>
  <Detector ID="Detector:0" Manufacturer="Zeiss" Model="GaAsP" Type="PMT"/>
  <Objective ID="Objective:0" Manufacturer="Zeiss" Model="Plan-Apochromat" NominalMagnification="63"
             LensNA="1.4" Immersion="Oil"/>
 </Instrument>
 <Image ID="Image:0" Name="cells">
  <InstrumentRef ID="Instrument:0"/>
  <Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="64" SizeY="48" SizeZ="1" SizeC="2" SizeT="1"
          PhysicalSizeX="0.1" PhysicalSizeY="0.1">
   <Channel ID="Channel:0:0" Name="DAPI" Fluor="Hoechst 33342" AcquisitionMode="LaserScanningConfocalMicroscopy"
            ExcitationWavelength="405" EmissionWavelength="461" SamplesPerPixel="1"/>
   <Channel ID="Channel:0:1" Name="Actin" AcquisitionMode="LaserScanningConfocalMicroscopy"
            ExcitationWavelength="561" SamplesPerPixel="1"/>
   <TiffData/>
  </Pixels>
 </Image>
</OME>"""


def archive(tmp_path: Path) -> Path:
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    return tmp_path


def confocal_tiff(path: Path) -> Path:
    import tifffile

    data = np.random.default_rng(1).integers(0, 4000, size=(2, 48, 64), dtype=np.uint16)
    tifffile.imwrite(path, data, description=OME_XML, metadata=None)
    return path


def test_new_from_an_ome_tiff_fills_images_channels_instrument_and_method(tmp_path):
    root = archive(tmp_path)
    image = confocal_tiff(tmp_path / "cells.ome.tif")
    result = CliRunner().invoke(
        main, ["new", "--root", str(root), *FLAGS, "--from", str(image)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    path = root / "studies/OIA-000001/study.yaml"
    checked = load_record(path, load_settings(root), root=root)
    assert checked.study is not None, checked.diagnostics
    errors = [d for d in checked.diagnostics if d.severity is Severity.ERROR]
    # Only the guidance texts no file can know are left (description, biosample, protocol, one contrast).
    assert {d.check for d in errors} == {"MOD050"}
    left = {d.field for d in errors}
    assert "datasets[0].acquisition.instrument" not in left
    assert "datasets[0].specimen.signal_contrast[1].contrast" in left  # the file does not name the second dye
    dataset = checked.study.datasets[0]
    assert [(i.name, i.url) for i in dataset.images] == [("cells", "images/cells.ome.zarr")]
    assert dataset.acquisition.instrument == "Zeiss LSM 980"
    assert "63x" in dataset.acquisition.parameters and "NA 1.4" in dataset.acquisition.parameters
    assert "x 0.1 micrometer" in dataset.acquisition.parameters
    assert [m.id for m in dataset.acquisition.imaging_method] == ["FBbi:00000252"]  # from AcquisitionMode
    signals = dataset.specimen.signal_contrast
    assert [s.channel for s in signals] == ["DAPI", "Actin"]
    assert signals[0].contrast == "Hoechst 33342, excitation 405 nm, emission 461 nm"
    assert (root / "studies/OIA-000001/images/.gitignore").read_text().strip().endswith("*")


def test_an_imaging_method_given_on_the_command_line_wins(tmp_path):
    import mrcfile

    root = archive(tmp_path)
    with mrcfile.new(tmp_path / "tomo.mrc") as mrc:
        mrc.set_data(np.zeros((4, 16, 16), np.float32))
        mrc.voxel_size = 3.0
    runner = CliRunner()
    result = runner.invoke(main, ["new", "--root", str(root), *FLAGS, "--from", str(tmp_path / "tomo.mrc")])
    assert result.exit_code == 0, result.output
    study = load_record(root / "studies/OIA-000001/study.yaml", load_settings(root), root=root).study
    assert [m.id for m in study.datasets[0].acquisition.imaging_method] == ["FBbi:00000258"]  # MRC: TEM suggested
    result = runner.invoke(
        main,
        ["new", "--root", str(root), *FLAGS, "--imaging-method", "FBbi:00000256", "--from", str(tmp_path / "tomo.mrc")],
    )
    study = load_record(root / "studies/OIA-000002/study.yaml", load_settings(root), root=root).study
    assert [m.id for m in study.datasets[0].acquisition.imaging_method] == ["FBbi:00000256"]


def test_a_bad_file_creates_no_study(tmp_path):
    root = archive(tmp_path)
    (tmp_path / "broken.czi").write_bytes(b"not a czi file at all")
    result = CliRunner().invoke(main, ["new", "--root", str(root), *FLAGS, "--from", str(tmp_path / "broken.czi")])
    assert result.exit_code == 1
    assert "CNV002" in result.output and "broken.czi" in result.output and "No study was created" in result.output
    assert not (root / "studies/OIA-000001").exists()
