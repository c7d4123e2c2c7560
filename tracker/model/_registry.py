"""Model, accelerator and region registries: built-in data plus user additions.

Built-in entries live in `tracker/model/data/{models,hardware,regions}.json` (versioned,
validated by pydantic, read once per process on first use: importing this module loads
neither). Users add or override entries in code
(`register(ModelSpec(...))`) or from a file (`load_registry_file("my.toml")`) shaped as
`{"models": [...], "hardware": [...], "regions": [...]}`; a user entry with the name of a built-in
one replaces it.

Look-ups are case-insensitive dictionary look-ups, cached per name. Model names resolve, in order:
exact name or alias; then the name with deterministic decorations removed or rewritten, one at a
time: Ollama's `:latest` and quantisation tags (`qwen3:8b-q4_K_M`), provider prefixes (`openai/`,
`models/`, `meta-llama/`, Bedrock `us.anthropic.`), serving suffixes (`:free`, `:beta`, Bedrock
`-v2:0`, `-1:0`, `:200k`, Vertex `@20240620`), dated snapshots (`-2024-08-06`, `-20250929`,
`-0613`, `-2507`, `-001`), `-latest`, `-preview`, `-exp`, `-instruct`, `-chat`, `-it`, `-hf`,
`-thinking`; last, an Ollama size tag becomes a dash (`qwen3:30b-a3b` = `qwen3-30b-a3b`) and a
family fused to its version gets one (Bedrock `llama3-2-3b` = `llama-3-2-3b`, Ollama `phi4` =
`phi-4`). Dots between digits equal dashes (`claude-3.5-sonnet` = `claude-3-5-sonnet`).
A few bare names mean one model on Ollama and another elsewhere (`deepseek-r1` is the 671B model
on every API but Ollama's 8B distillation): those carry a provider-scoped alias
(`ollama/deepseek-r1`), used for `ollama/...` names (LiteLLM's spelling) and by
`find_model(name, provider="ollama")`.
Nothing is fuzzy-matched: an unknown name raises with close-name suggestions.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tracker.exceptions import (
    ConfigError,
    UnknownHardwareError,
    UnknownModelError,
    UnknownRegionError,
)

if TYPE_CHECKING:  # pydantic and the entry types load with the data, on first use
    from tracker.model._registry_file import Spec
    from tracker.model._specs import HardwareSpec, ModelSpec, RegionSpec

__all__ = [
    "WORLD",
    "Registry",
    "get_registry",
    "load_registry_file",
    "register",
    "reset_registry",
]

#: Region used when nothing is configured: the world average grid (458.3 g/kWh, OWID via EcoLogits).
WORLD = "world"

S = TypeVar("S", "ModelSpec", "HardwareSpec", "RegionSpec")

_DIGIT_DOT = re.compile(r"(?<=\d)\.(?=\d)")
_Rule = tuple[re.Pattern[str], str]


class _Rules:
    """Rewrite rules, compiled on first use: a pattern alone is removed, a pair rewrites.

    Compiling the two dozen patterns costs milliseconds that `configure()` need not pay.
    """

    def __init__(self, *rules: str | tuple[str, str]) -> None:
        self.sources = tuple((r, "") if isinstance(r, str) else r for r in rules)
        self._compiled: tuple[_Rule, ...] | None = None

    def __iter__(self) -> Iterator[_Rule]:
        compiled = self._compiled
        if compiled is None:  # two threads may both compile: the same rules either way
            compiled = self._compiled = tuple((re.compile(p), r) for p, r in self.sources)
        return iter(compiled)


#: Ollama's tag decorations, the only rules tried on a provider-scoped name.
_TAG_RULES = _Rules(
    r":latest$",                                # Ollama's default tag
    r"-(instruct-|text-|chat-|it-)?(q\d\w*|qat|fp16|bf16|fp8)$",  # Ollama quantisation tags
)
_MODEL_RULES = _Rules(
    (r"^ollama_chat/", "ollama/"),              # LiteLLM's two spellings of an Ollama model
    *_TAG_RULES.sources,                        # before prefixes: `ollama/x:latest` -> `ollama/x`
    r"^.*/",                                    # openai/gpt-4o, models/..., meta-llama/...
    r"^(us|eu|apac|global|jp|au|ca)\.",         # Bedrock cross-region inference prefix
    r"^(anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|qwen|google|xai|moonshotai?)\.",
    r":(free|beta|extended|thinking|nitro|floor|online|exacto)$",   # OpenRouter variants
    r":(\d+k|mm)$",                             # Bedrock context/modality variants (:200k, :mm)
    r"-v?\d+:\d+$",                             # Bedrock -v1:0, -v2:0, -1:0
    r"@(\d{8}|\d{3}|latest|default)$",          # Vertex @20240620, @001
    r"-(\d{4}-\d{2}-\d{2}|\d{8})$",             # -2024-08-06, -20250929
    r"-latest$",
    r"-preview(-\d{2}-\d{2})?$",
    r"-exp(-\d{4}|-\d{2}-\d{2})?$",
    r"-(\d{4}|\d{3})$",                         # -0613, -2507, -001
    r"-(instruct|chat|it|hf)$",
    r"-thinking$",
    (r":", "-"),                                # Ollama size tag: qwen3:30b-a3b -> qwen3-30b-a3b
    (r"^(llama|gemma|phi)(?=\d)", r"\1-"),       # llama3-2-3b -> llama-3-2-3b, phi4 -> phi-4
)
_HARDWARE_RULES = _Rules(r"^(nvidia|amd|google|tesla)-", r"^tesla-")
#: A provider name usable as a scope (`ollama`, `aws.bedrock`): anything else is ignored.
_SCOPE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$", re.IGNORECASE)


#: Longest name looked up; a longer model, hardware or region name is unknown (without this, the
#: suffix rules would take quadratic time on a long hostile name).
MAX_NAME_LENGTH = 256
#: Deepest nesting accepted in a registry file (entries are two levels deep).


def _key(name: str) -> str:
    """Normalised look-up key: lower case, trimmed, dots between digits as dashes."""
    return _DIGIT_DOT.sub("-", name.strip().lower())


def _hardware_key(name: str) -> str:
    return _key(name).replace(" ", "-").replace("_", "-")


class _Table(Generic[S]):
    """Entries of one kind, an alias index and a resolution cache."""

    def __init__(self, key: Callable[[str], str], rules: _Rules) -> None:
        self._key = key
        self._rules = rules
        self.entries: dict[str, S] = {}        # key of canonical name -> spec (insertion order)
        self._index: dict[str, str] = {}       # key of name or alias -> key of canonical name
        self._cache: dict[str, S | None] = {}
        self._scoped: dict[tuple[str, str], S | None] = {}

    def add(self, spec: S) -> None:
        canonical = self._key(spec.name)
        self.entries[canonical] = spec
        for alias in spec.aliases:
            self._index[self._key(alias)] = canonical
        self._index[canonical] = canonical     # a name always wins over another entry's alias
        self._cache = {}
        self._scoped = {}

    def find(self, name: str) -> S | None:
        if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
            return None  # never a registry name; rules over a huge string would take long
        hit = self._cache.get(name)
        if hit is not None or name in self._cache:
            return hit
        found = self._resolve(self._key(name), self._rules)
        spec = self.entries[found] if found is not None else None
        if len(self._cache) < 4096:
            self._cache[name] = spec
        return spec

    def _resolve(self, key: str, rules: _Rules) -> str | None:
        """The canonical key `key` resolves to, or None.

        Looked up as is, then again after each rewrite (the first rule that changes it, one at
        a time) until found or no rule applies.
        """
        found = self._index.get(key)
        while found is None:
            for rule, replacement in rules:
                shorter = rule.sub(replacement, key, count=1)
                if shorter != key and shorter:
                    key = shorter
                    break
            else:
                break
            found = self._index.get(key)
        return found

    def find_scoped(self, scope: str, name: str) -> S | None:
        """The entry with the alias `scope/name` (Ollama tags removed), or None: no other rule."""
        if (scope, name) in self._scoped:
            return self._scoped[(scope, name)]
        found = self._resolve(self._key(f"{scope}/{name}"), _TAG_RULES)
        spec = self.entries[found] if found is not None else None
        if len(self._scoped) < 4096:
            self._scoped[(scope, name)] = spec
        return spec

    def known(self) -> list[str]:
        names = [s.name for s in self.entries.values()]
        return names + [a for s in self.entries.values() for a in s.aliases]


def _unknown(name: str, table: _Table[Any]) -> tuple[str, list[str]]:
    """The name to show and the names to suggest from (none for a long name: difflib is slow)."""
    if not isinstance(name, str):
        return type(name).__name__, []
    if len(name) > MAX_NAME_LENGTH:
        return f"{name[:40]}... ({len(name)} characters)", []
    return name, table.known()


class Registry:
    """Models, accelerators and regions: built-in data (unless `builtin=False`) plus additions."""

    def __init__(self, *, builtin: bool = True) -> None:
        self._builtin = builtin
        self._loaded = False
        self._lock = threading.RLock()
        self._models: _Table[ModelSpec] = _Table(_key, _MODEL_RULES)
        self._hardware: _Table[HardwareSpec] = _Table(_hardware_key, _HARDWARE_RULES)
        self._regions: _Table[RegionSpec] = _Table(_key, _Rules())

    def _ready(self) -> Registry:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    if self._builtin:
                        from tracker.model._registry_file import builtin

                        for filename in ("models.json", "hardware.json", "regions.json"):
                            for spec in builtin(filename):
                                self._add(spec)
                    self._loaded = True
        return self

    def _add(self, spec: Spec) -> None:
        from tracker.model._specs import HardwareSpec, ModelSpec, RegionSpec

        if isinstance(spec, ModelSpec):
            self._models.add(spec)
        elif isinstance(spec, HardwareSpec):
            self._hardware.add(spec)
        elif isinstance(spec, RegionSpec):
            self._regions.add(spec)
        else:
            raise ConfigError("registry", f"expected ModelSpec, HardwareSpec or RegionSpec, got "
                              f"{type(spec).__name__}")

    def find_model(self, name: str, provider: str | None = None) -> ModelSpec | None:
        """The model called `name` (an alias, dated snapshot, prefixed id ...), or None.

        `provider` (a `gen_ai.provider.name` such as ``ollama``) first tries the aliases scoped
        to it (`ollama/deepseek-r1`: Ollama's bare `deepseek-r1` is an 8B distillation, the
        671B model everywhere else); a provider without scoped aliases changes nothing.
        """
        models = self._ready()._models
        if (provider is not None and isinstance(name, str) and isinstance(provider, str)
                and len(name) <= MAX_NAME_LENGTH and _SCOPE.match(provider)):
            scoped = models.find_scoped(provider, name.rsplit("/", 1)[-1]
                                        if name.lower().startswith("library/") else name)
            if scoped is not None:
                return scoped
        return models.find(name)

    def model(self, name: str, provider: str | None = None) -> ModelSpec:
        """The model called `name` (see `find_model`); raises UnknownModelError if unknown."""
        spec = self.find_model(name, provider)
        if spec is None:
            raise UnknownModelError("model", *_unknown(name, self._models))
        return spec

    def hardware(self, name: str) -> HardwareSpec:
        """The accelerator called `name`; raises UnknownHardwareError if unknown."""
        spec = self._ready()._hardware.find(name)
        if spec is None:
            raise UnknownHardwareError("hardware", *_unknown(name, self._hardware))
        return spec

    def region(self, name: str) -> RegionSpec:
        """The region or country (alpha-2 or alpha-3) called `name`; UnknownRegionError if not."""
        spec = self._ready()._regions.find(name)
        if spec is None:
            raise UnknownRegionError("region", *_unknown(name, self._regions))
        return spec

    def models(self) -> list[ModelSpec]:
        """Every model entry (built-in first, in file order, then additions)."""
        return list(self._ready()._models.entries.values())

    def hardware_list(self) -> list[HardwareSpec]:
        """Every accelerator entry."""
        return list(self._ready()._hardware.entries.values())

    def regions(self) -> list[RegionSpec]:
        """Every region entry (countries, world, cloud regions, additions)."""
        return list(self._ready()._regions.entries.values())

    def add(self, spec: Spec) -> None:
        """Add `spec`, replacing an entry of the same kind and name (case-insensitive)."""
        self._ready()
        with self._lock:
            self._add(spec)
        _changed()

    def load_file(self, path: str | Path) -> None:
        """Add every entry of a TOML or JSON file `{"models": [...], "hardware": [...], ...}`.

        The file is validated whole before anything is added; any problem raises
        `ConfigError("registry_file", ...)` naming the file, the entry and the field.
        TOML needs Python 3.11+ (tomllib) or the `tomli` package on 3.10; JSON always works.
        """
        from tracker.model._registry_file import read_file

        specs = read_file(Path(path))
        self._ready()
        with self._lock:
            for spec in specs:
                self._add(spec)
        _changed()


_REGISTRY: Registry | None = None
_REGISTRY_LOCK = threading.Lock()


#: Bumped on every change of the process-wide registry; caches built from it compare it.
_GENERATION = 0


def _changed() -> None:
    global _GENERATION
    _GENERATION += 1


def generation() -> int:
    """The registry's generation: it changes whenever an entry is added, loaded or reset."""
    return _GENERATION


def get_registry() -> Registry:
    """The process-wide registry: built-in data (loaded once, lazily) plus user additions."""
    global _REGISTRY
    if _REGISTRY is None:
        with _REGISTRY_LOCK:
            if _REGISTRY is None:
                _REGISTRY = Registry()
    return _REGISTRY


def register(spec: Spec) -> None:
    """Add or override a model, accelerator or region in the process-wide registry."""
    get_registry().add(spec)


def load_registry_file(path: str | Path) -> None:
    """Add a TOML or JSON file's entries to the process-wide registry (see Registry.load_file)."""
    get_registry().load_file(path)


def reset_registry() -> None:
    """Drop user additions from the process-wide registry (tests; built-in data stays cached)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        _REGISTRY = None
    _changed()
