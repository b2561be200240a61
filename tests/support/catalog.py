"""Realistic study records, image facts and catalogs for tests and benchmarks.

Fixtures (registered for every test by tests/conftest.py):

- ``catalog_settings``  ArchiveSettings of a test archive (HTTPS storage root)
- ``catalog_today``     the fixed "today" the examples are built against
- ``catalog_studies``   four Study objects: two released, one withdrawn, one
                        embargoed until 2099 (its title carries EMBARGO_MARKER)
- ``catalog_images``    ImageFacts keyed "<ACCESSION>/<dataset>/<image>"
- ``sample_catalog``    build_catalog() of the above
- ``hostile_catalog``   a catalog of one study whose every text is hostile

Plain functions (importable): :func:`study_record`, :func:`example_studies`,
:func:`example_image_facts`, :func:`hostile_study`, :func:`synthetic_studies`,
:func:`synthetic_image_facts`, :func:`synthetic_catalog` (for benchmarks:
``synthetic_catalog(10_000)``).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import random
from typing import Any

import pytest

from builder.catalog.assembly import Catalog, PastVersion, build_catalog
from builder.core.layout import image_key
from builder.core.settings import ArchiveSettings
from builder.model.image import AxisFacts, ChannelFacts, ImageFacts, LevelFacts, PlateFacts
from builder.model.study import Study

TODAY = dt.date(2026, 6, 1)
EMBARGO_MARKER = "Zebrafishembargoword"
EMBARGOED_ACCESSION = "OIA-000004"

# Strings that break naive exporters: quotes, braces, LaTeX and XML specials,
# a closing script tag, line breaks, a CSV formula, right-to-left and astral
# characters.
HOSTILE_TITLE = 'Nuclei "quoted" {braced} </script><script>alert(1)</script> & <b>bold</b> 100% $x_1^2$ #tag ~\\ end'
HOSTILE_TEXT = (
    "=cmd|' /C calc'!A0 line one\nline two\r\n<!-- comment --> ]]> ' \" & < > "
    "{unbalanced \\relax % comment\n Åström café 東京 🦠 \u2028 and more text to pass the length rule"
)
HOSTILE_NAME = 'Robert "Bobby" O\'Brien and {Drop} Tables'


def settings_for_tests(**overrides: Any) -> ArchiveSettings:
    values: dict[str, Any] = {
        "name": "Open Image Archive",
        "short_name": "OIA",
        "publisher": "Open Image Archive",
        "site_url": "https://archive.example.org/",
        "repo_url": "https://github.com/example/archive",
        "storage_root": "https://data.example.org/oia",
        "storage_public_url": "https://data.example.org/oia",
    }
    values.update(overrides)
    return ArchiveSettings.model_validate(values)


def _dataset(
    name: str,
    organism: tuple[str, str],
    method: tuple[str, str],
    images: list[dict[str, Any]],
    entity: str = "HeLa cells",
) -> dict[str, Any]:
    return {
        "name": name,
        "title": f"{entity} imaged by {method[1]}",
        "description": f"Images of {entity}.",
        "biosample": {
            "organisms": [{"id": organism[0], "label": organism[1]}],
            "biological_entity": entity,
            "intrinsic_variables": ["wild type"],
        },
        "specimen": {
            "preparation_protocol": "Fixed in 4% paraformaldehyde for 15 minutes, stained with DAPI and mounted.",
            "signal_contrast": [{"channel": "DAPI", "contrast": "Hoechst 33342 (DNA)", "target": "nuclei"}],
        },
        "acquisition": {
            "imaging_method": [{"id": method[0], "label": method[1]}],
            "instrument": "Zeiss LSM 980 with Airyscan 2",
            "parameters": "63x/1.4 oil objective, 0.05 um pixels",
        },
        "images": images,
    }


def study_record(accession: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid record (as loaded from YAML) that tests can vary."""
    record: dict[str, Any] = {
        "schema_version": 2,
        "accession": accession,
        "version": 1,
        "title": "Three-dimensional nuclear architecture of mouse embryonic stem cells",
        "description": (
            "We imaged **nuclear architecture** in mouse embryonic stem cells during differentiation, "
            "using [confocal microscopy](https://example.org/protocol). Each image holds four channels."
        ),
        "authors": [
            {
                "name": "Ada Lovelace",
                "orcid": "0000-0002-1825-0097",
                "affiliations": [{"name": "European Molecular Biology Laboratory", "ror": "https://ror.org/03mstc592"}],
                "roles": ["investigation", "submitter"],
                "email": "ada@example.org",
                "contact": True,
            },
            {
                "name": "Ludwig van Beethoven",
                "affiliations": [{"name": "University of Oxford", "ror": "https://ror.org/052gg0110"}],
            },
        ],
        "licence": "CC-BY-4.0",
        "keywords": ["nucleus", "chromatin", "stem cells"],
        "release_date": "2025-03-14",
        "funding": [
            {"funder": "Wellcome Trust", "grant_id": "221052/Z/20/Z", "funder_ror": "https://ror.org/029chgv08"}
        ],
        "publications": [
            {
                "title": "Chromatin compaction in stem cells",
                "authors": "Lovelace A, van Beethoven L",
                "year": 2024,
                "journal": "Nature Methods",
                "doi": "10.1038/s41592-021-01326-w",
                "pubmed_id": "34887551",
            }
        ],
        "links": [{"url": "https://github.com/example/analysis", "description": "Analysis code"}],
        "data_type": "reference images",
        "biological_scale": ["cell"],
        "datasets": [
            _dataset(
                "confocal",
                ("NCBITaxon:10090", "Mus musculus"),
                ("FBbi:00000251", "confocal microscopy"),
                [
                    {"name": "cell-01", "url": "mesc/cell-01.ome.zarr", "title": "Cell 1"},
                    {"name": "cell-02", "url": "https://other.example.net/bucket/cell-02.ome.zarr"},
                ],
                entity="mouse embryonic stem cells",
            )
        ],
    }
    record.update(overrides)
    return record


def example_studies() -> list[Study]:
    """Released (2), withdrawn (1) and embargoed (1) studies, all valid."""
    mouse = study_record("OIA-000001")
    human = study_record(
        "OIA-000002",
        title="Genome-wide RNAi screen of mitotic timing in HeLa cells",
        description="A high-content screen: HeLa cells imaged live by **widefield fluorescence** after siRNA "
        "knock-down of 20,000 genes, to find regulators of mitotic timing.",
        licence="CC0-1.0",
        keywords=["mitosis", "RNAi screen"],
        release_date="2024-11-02",
        data_type="systematic phenotyping",
        biological_scale=["cell", "molecular machine"],
        human_data={
            "ethics_statement": "HeLa is an established commercial cell line; no ethics approval needed.",
            "consent_statement": "Not applicable: established cell line, no donor data.",
            "deidentified": True,
        },
        version=2,
        changelog=[
            {"version": 2, "date": "2025-01-10", "description": "Added the second plate and fixed channel names."},
        ],
        datasets=[
            _dataset(
                "screen",
                ("NCBITaxon:9606", "Homo sapiens"),
                ("FBbi:00000246", "fluorescence microscopy"),
                [{"name": "plate1", "url": "s3://screens/hela/plate1.ome.zarr", "kind": "plate"}],
            ),
            _dataset(
                "controls",
                ("NCBITaxon:10090", "Mus musculus"),
                ("FBbi:00000246", "fluorescence microscopy"),
                [{"name": "ctrl-1", "url": "controls/ctrl-1.ome.zarr"}],
                entity="mouse fibroblasts",
            ),
        ],
    )
    withdrawn = study_record(
        "OIA-000003",
        title="Zebrafish heart regeneration time lapse",
        release_date="2023-05-20",
        status="withdrawn",
        withdrawal_reason="The depositors found the images were mislabelled.",
        datasets=[
            _dataset(
                "lightsheet",
                ("NCBITaxon:7955", "Danio rerio"),
                ("FBbi:00000369", "light sheet fluorescence microscopy"),
                [{"name": "heart", "url": "zebrafish/heart.ome.zarr"}],
                entity="zebrafish larval heart",
            )
        ],
    )
    embargoed = study_record(
        EMBARGOED_ACCESSION,
        title=f"{EMBARGO_MARKER} embargoed light-sheet atlas of Drosophila wing discs",
        description=f"{EMBARGO_MARKER}: this study is under embargo until its paper appears in print.",
        release_date="2099-01-01",
        keywords=[EMBARGO_MARKER],
        datasets=[
            _dataset(
                "discs",
                ("NCBITaxon:7227", "Drosophila melanogaster"),
                ("FBbi:00000369", "light sheet fluorescence microscopy"),
                [{"name": "disc-1", "url": "fly/disc-1.ome.zarr"}],
                entity="wing imaginal disc",
            )
        ],
    )
    return [Study.model_validate(r) for r in (mouse, human, withdrawn, embargoed)]


def image_facts(
    url: str, *, kind: str = "image", ngff: str = "0.5", size_bytes: int = 1_000_000, thumbnail: str | None = None
) -> ImageFacts:
    if kind == "plate":
        return ImageFacts(
            url=url,
            kind="plate",
            ngff_version=ngff,
            name="plate",
            plate=PlateFacts(
                rows=8,
                columns=12,
                wells=96,
                fields_per_well=4,
                row_names=list("ABCDEFGH"),
                column_names=[str(i) for i in range(1, 13)],
            ),
            size_bytes=size_bytes,
            fingerprint="sha256:" + "0" * 64,
            thumbnails={"card": thumbnail} if thumbnail else {},
        )
    return ImageFacts(
        url=url,
        kind="image",
        ngff_version=ngff,
        name="image",
        axes=[
            AxisFacts(name="c", type="channel"),
            AxisFacts(name="z", type="space", unit="micrometer", scale=0.5),
            AxisFacts(name="y", type="space", unit="micrometer", scale=0.1),
            AxisFacts(name="x", type="space", unit="micrometer", scale=0.1),
        ],
        shape=[2, 10, 512, 512],
        dtype="uint16",
        chunks=[1, 1, 256, 256],
        levels=[
            LevelFacts(path="0", shape=[2, 10, 512, 512], chunks=[1, 1, 256, 256]),
            LevelFacts(path="1", shape=[2, 10, 256, 256], chunks=[1, 1, 256, 256]),
        ],
        channels=[
            ChannelFacts(label="DAPI", color="0000FF", window=(0, 4000)),
            ChannelFacts(label="GFP", color="00FF00", window=(100, 2000)),
        ],
        default_z=5,
        size_bytes=size_bytes,
        fingerprint="sha256:" + "1" * 64,
        thumbnails={"card": thumbnail, "preview": thumbnail.replace("card", "preview")} if thumbnail else {},
        thumbnail_alt="Nuclei in blue, GFP in green",
    )


def example_image_facts() -> dict[str, ImageFacts]:
    root = "https://data.example.org/oia"
    return {
        "OIA-000001/confocal/cell-01": image_facts(
            f"{root}/mesc/cell-01.ome.zarr", size_bytes=2_000_000, thumbnail="a1b2c3-card.webp"
        ),
        "OIA-000001/confocal/cell-02": image_facts(
            "https://other.example.net/bucket/cell-02.ome.zarr", ngff="0.4", size_bytes=3_000_000
        ),
        "OIA-000002/screen/plate1": image_facts(
            "s3://screens/hela/plate1.ome.zarr", kind="plate", size_bytes=50_000_000, thumbnail="d4e5f6-card.webp"
        ),
        # OIA-000002/controls/ctrl-1 could not be read: no facts.
        "OIA-000003/lightsheet/heart": image_facts(f"{root}/zebrafish/heart.ome.zarr", thumbnail="dead-card.webp"),
        "OIA-000004/discs/disc-1": image_facts(f"{root}/fly/disc-1.ome.zarr", thumbnail="secret-card.webp"),
    }


def example_history() -> dict[str, list[PastVersion]]:
    studies = {s.accession: s for s in example_studies()}
    v1 = studies["OIA-000002"].model_copy(
        update={"version": 1, "title": "RNAi screen of mitotic timing (first release)"}
    )
    return {
        "OIA-000002": [
            PastVersion(version=1, date=dt.date(2024, 11, 2), commit="a" * 40, study=v1),
            PastVersion(version=2, date=dt.date(2025, 1, 10), commit="b" * 40, study=studies["OIA-000002"]),
        ]
    }


def hostile_study(accession: str = "OIA-000666") -> Study:
    """One valid study whose every free text is hostile."""
    record = study_record(
        accession,
        title=HOSTILE_TITLE,
        description=HOSTILE_TEXT,
        keywords=['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", '<xml attr="x">', "東京"],
        authors=[
            {
                "name": HOSTILE_NAME,
                "email": "bobby@example.org",
                "contact": True,
                "affiliations": [{"name": 'Institute of "Quotes" & <Tags> {Braces}'}],
            },
            {"name": "Zoë Åström-Ñúñez", "orcid": "0000-0002-1694-233X"},
        ],
        funding=[{"funder": 'Fund & <Foundation> "x"', "grant_id": "G-{1}%"}],
        publications=[],
        links=[],
        withdrawal_reason=None,
    )
    record["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:10090", "label": 'Mus <i>musculus</i> "&"'}]
    return Study.model_validate(record)


# ---------------------------------------------------------------- synthetic catalogs

ORGANISMS = [
    ("NCBITaxon:10090", "Mus musculus"),
    ("NCBITaxon:7955", "Danio rerio"),
    ("NCBITaxon:7227", "Drosophila melanogaster"),
    ("NCBITaxon:6239", "Caenorhabditis elegans"),
    ("NCBITaxon:3702", "Arabidopsis thaliana"),
    ("NCBITaxon:4932", "Saccharomyces cerevisiae"),
    ("NCBITaxon:10116", "Rattus norvegicus"),
    ("NCBITaxon:8355", "Xenopus laevis"),
    ("NCBITaxon:562", "Escherichia coli"),
    ("NCBITaxon:9031", "Gallus gallus"),
    ("NCBITaxon:4896", "Schizosaccharomyces pombe"),
    ("NCBITaxon:9615", "Canis lupus familiaris"),
]
METHODS = [
    ("FBbi:00000246", "fluorescence microscopy"),
    ("FBbi:00000251", "confocal microscopy"),
    ("FBbi:00000253", "spinning disk confocal microscopy"),
    ("FBbi:00000255", "multi-photon microscopy"),
    ("FBbi:00000369", "light sheet fluorescence microscopy"),
    ("FBbi:00000617", "evanescent wave microscopy"),
    ("FBbi:00000247", "phase contrast microscopy"),
    ("FBbi:00000256", "electron microscopy"),
    ("FBbi:00000368", "fluorescence lifetime imaging microscopy"),
    ("FBbi:00000249", "time lapse microscopy"),
]
_WORDS = [
    "nucleus",
    "chromatin",
    "mitochondria",
    "membrane",
    "cytoskeleton",
    "actin",
    "microtubule",
    "centrosome",
    "spindle",
    "mitosis",
    "meiosis",
    "apoptosis",
    "autophagy",
    "endosome",
    "lysosome",
    "golgi",
    "reticulum",
    "vesicle",
    "synapse",
    "neuron",
    "axon",
    "dendrite",
    "astrocyte",
    "microglia",
    "cortex",
    "hippocampus",
    "retina",
    "cochlea",
    "kidney",
    "liver",
    "intestine",
    "organoid",
    "embryo",
    "gastrulation",
    "somite",
    "neural",
    "crest",
    "limb",
    "bud",
    "heart",
    "regeneration",
    "wound",
    "healing",
    "migration",
    "invasion",
    "metastasis",
    "tumour",
    "stroma",
    "fibroblast",
    "epithelium",
    "endothelium",
    "angiogenesis",
    "stem",
    "differentiation",
    "lineage",
    "tracing",
    "clone",
    "division",
    "polarity",
    "adhesion",
    "junction",
    "cilium",
    "flagellum",
    "biofilm",
    "hyphae",
    "spore",
    "germination",
    "root",
    "shoot",
    "meristem",
    "leaf",
    "stomata",
    "chloroplast",
    "vacuole",
    "cell",
    "wall",
    "septum",
    "bud",
    "scar",
    "phenotype",
    "screen",
    "knockdown",
    "knockout",
    "crispr",
    "rnai",
    "compound",
    "drug",
    "dose",
    "response",
    "timelapse",
    "segmentation",
    "tracking",
    "annotation",
    "atlas",
    "reference",
    "benchmark",
    "expansion",
    "superresolution",
    "correlative",
    "tomography",
    "volume",
    "serial",
    "section",
]
_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Rosalind",
    "Marie",
    "Barbara",
    "Dorothy",
    "Francis",
    "Santiago",
    "Camillo",
    "Rita",
    "Tu",
    "Katalin",
    "Emmanuelle",
    "Jennifer",
    "Shinya",
    "Yoshinori",
    "Paul",
    "Tim",
    "Eric",
    "Carol",
    "Elizabeth",
    "Jack",
    "Linda",
    "Richard",
    "May-Britt",
    "Edvard",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Franklin",
    "Curie",
    "McClintock",
    "Hodgkin",
    "Crick",
    "Cajal",
    "Golgi",
    "Levi-Montalcini",
    "Youyou",
    "Kariko",
    "Charpentier",
    "Doudna",
    "Yamanaka",
    "Ohsumi",
    "Nurse",
    "Hunt",
    "Wieschaus",
    "Greider",
    "Blackburn",
    "Szostak",
    "Buck",
    "Axel",
    "Roberts",
    "Moser",
]
_SCALES = ["molecule", "molecular machine", "cell", "tissue", "organism"]
_TYPES = ["reference images", "atlas", "benchmark dataset", "systematic phenotyping", "other"]


_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "nu",
    "re",
    "sa",
    "ti",
    "vo",
    "ze",
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "ha",
    "je",
    "ki",
    "lu",
    "ma",
    "ne",
    "po",
    "qu",
    "ri",
    "so",
    "tu",
    "va",
    "we",
    "xi",
    "yo",
    "zu",
    "an",
    "el",
    "in",
    "on",
    "ur",
    "ast",
    "ber",
    "cor",
    "dan",
    "fel",
    "gor",
    "hin",
    "jor",
    "kel",
    "lam",
    "mor",
    "nis",
    "pel",
    "ros",
    "tar",
    "vel",
]


def _pseudo_words(rng: random.Random, count: int, syllables: tuple[int, int] = (2, 4)) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*syllables))))
    return sorted(words)


class _Vocabulary:
    """Word and name pools with a Zipf-like use frequency, like real text.

    A small vocabulary would flatter the index size: real descriptions bring
    thousands of distinct words, gene names and numbers.
    """

    def __init__(self, rng: random.Random) -> None:
        self.words = _WORDS + _pseudo_words(rng, 8000)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.first_names = _FIRST + [w.capitalize() for w in _pseudo_words(rng, 400, (2, 3))]
        self.last_names = _LAST + [w.capitalize() for w in _pseudo_words(rng, 3000, (2, 4))]

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, weights=self.weights, k=k)


def synthetic_studies(n: int, seed: int = 0, *, today: dt.date = TODAY) -> list[Study]:
    """n valid, varied, released studies (deterministic for a seed)."""
    rng = random.Random(seed)
    vocabulary = _Vocabulary(random.Random(seed + 1))
    template = study_record("OIA-000000")
    studies = []
    for i in range(1, n + 1):
        words = rng.sample(_WORDS, 14)
        organism = rng.choice(ORGANISMS)
        method = rng.choice(METHODS)
        record = copy.deepcopy(template)
        record["accession"] = f"OIA-{i:06d}"
        extra = vocabulary.sample(rng, 4)
        record["title"] = (
            f"{words[0].capitalize()} and {words[1]} {extra[0]} in {organism[1]} {words[2]} {extra[1]} by {method[1]}"
        )
        record["description"] = " ".join(
            f"We studied {w} {' '.join(vocabulary.sample(rng, rng.randint(5, 12)))} in {organism[1]} "
            f"{' '.join(vocabulary.sample(rng, rng.randint(3, 8)))}, imaging {rng.randint(2, 900)} samples."
            for w in words[3:9]
        )
        n_authors = rng.randint(1, 8)
        authors = []
        for a in range(n_authors):
            authors.append(
                {
                    "name": f"{rng.choice(vocabulary.first_names)} {rng.choice(vocabulary.last_names)}",
                    "contact": a == 0,
                    **({"email": "contact@example.org"} if a == 0 else {}),
                }
            )
        record["authors"] = authors
        record["keywords"] = words[9:12] + extra[2:]
        record["licence"] = rng.choice(["CC0-1.0", "CC-BY-4.0"])
        record["release_date"] = (today - dt.timedelta(days=rng.randint(0, 3650))).isoformat()
        record["data_type"] = rng.choice(_TYPES)
        record["biological_scale"] = sorted(set(rng.sample(_SCALES, rng.randint(1, 2))))
        record["publications"] = []
        record["funding"] = []
        record["links"] = []
        dataset = _dataset(
            "main",
            organism,
            method,
            [{"name": f"img-{k}", "url": f"synthetic/{i}/img-{k}.ome.zarr"} for k in range(rng.randint(1, 4))],
            entity=words[12],
        )
        record["datasets"] = [dataset]
        studies.append(Study.model_validate(record))
    return studies


def synthetic_catalog(
    n: int, seed: int = 0, *, today: dt.date = TODAY, settings: ArchiveSettings | None = None
) -> Catalog:
    """A catalog of n released studies with image facts (thumbnails included)."""
    studies = synthetic_studies(n, seed, today=today)
    return build_catalog(studies, synthetic_image_facts(studies), settings or settings_for_tests(), today)


def synthetic_image_facts(studies: list[Study]) -> dict[str, ImageFacts]:
    """Facts with a card thumbnail for every image of the studies."""
    images: dict[str, ImageFacts] = {}
    for study in studies:
        for dataset, ref in study.images():
            images[image_key(study.accession, dataset.name, ref.name)] = image_facts(
                # Named like the data stage names them: a hash prefix, then the size.
                ref.url,
                size_bytes=10_000_000,
                thumbnail=hashlib.sha256(ref.url.encode()).hexdigest()[:32] + "-card.webp",
            )
    return images


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def catalog_settings() -> ArchiveSettings:
    return settings_for_tests()


@pytest.fixture
def catalog_today() -> dt.date:
    return TODAY


@pytest.fixture
def catalog_studies() -> list[Study]:
    return example_studies()


@pytest.fixture
def catalog_images() -> dict[str, ImageFacts]:
    return example_image_facts()


@pytest.fixture
def sample_catalog(catalog_studies, catalog_images, catalog_settings) -> Catalog:
    return build_catalog(catalog_studies, catalog_images, catalog_settings, TODAY, history=example_history())


@pytest.fixture
def hostile_catalog(catalog_settings) -> Catalog:
    return build_catalog([hostile_study()], {}, catalog_settings, TODAY)
