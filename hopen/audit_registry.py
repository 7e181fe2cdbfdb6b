"""The French vocabulary of the audit trail, declared next to the code that writes it.

Each app (and each part of an app) that writes audit records keeps an `audit_labels.py` beside its services, with
module-level dictionaries, all optional:

- `ACTIONS`: {action code: French label} for every code its services pass to `audit_record` (a code is declared
  once in the whole project: two modules claiming it is a configuration error);
- `OBJECT_TYPES`: {object type (`app_label.model`): French name}, when the model's verbose name is not the one to
  show;
- `FIELDS`: {object type: {field or key: label or `FieldLabel`}}: the keys of the recorded changes that are not
  model fields, and model fields whose verbose name is missing or whose value needs a format of its own
  (amounts, semesters, sizes);
- `COMMON_FIELDS`: {key: label or `FieldLabel`} for a key whatever the object (`created_by`, `establishment`);
- `REGION_PATHS`: {object type: ORM lookup from the model to its region}: what the region filter of the page
  follows;
- `NAME_RELATIONS`: {model label: select_related paths} needed by the model's `__str__`, so that naming the
  related objects of a page costs one query per model, whatever the number of records.

hopen collects every `audit_labels.py` of the project's apps once (`registry()`); the pages, the exports and the
history panels format records through `hopen.audit_display`, never with a dictionary of their own.
"""

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured

# Kinds of value: how a recorded value is shown (`FieldLabel.kind`, or taken from the model field).
TEXT, EUROS, NUMBER, PERCENT, DATE, DATETIME, BOOLEAN, CHOICE, RELATED = (
    "text", "euros", "number", "percent", "date", "datetime", "boolean", "choice", "related",
)


@dataclass(frozen=True)
class FieldLabel:
    """A key of the recorded changes: its label and, when the model field does not say it, how to show it.
    `related` names the model whose primary keys the values are (« hopen.user »); `format` is a function of one
    non-empty value for a format of the app's own (a semester, a file size)."""

    label: str
    kind: str = ""
    related: str = ""
    choices: tuple = ()
    format: Callable | None = None


@dataclass(frozen=True)
class FieldSpec:
    """What the formatter needs for one (object type, key): resolved once per pair."""

    label: str
    kind: str = TEXT
    related: str = ""
    choices: dict | None = None
    format: Callable | None = None
    declared: bool = True  # False: no French label anywhere (the key itself is shown; a test forbids it)


class AuditRegistry:
    def __init__(self):
        self.actions: dict[str, str] = {}
        self.action_sources: dict[str, str] = {}
        self.object_types: dict[str, str] = {}
        self.fields: dict[str, dict[str, FieldLabel]] = {}
        self.common_fields: dict[str, FieldLabel] = {}
        self.region_paths: dict[str, str] = {}
        self.name_relations: dict[str, tuple] = {}
        self.modules: list[str] = []
        self._specs: dict[tuple[str, str], FieldSpec] = {}

    # --- collection ---------------------------------------------------------------------------------------------

    def add_module(self, module) -> None:
        self.modules.append(module.__name__)
        for code, label in getattr(module, "ACTIONS", {}).items():
            if code in self.actions:
                raise ImproperlyConfigured(
                    f"Action d'audit « {code} » déclarée deux fois ({self.action_sources[code]}, {module.__name__})."
                )
            self.actions[code], self.action_sources[code] = label, module.__name__
        self.object_types.update(getattr(module, "OBJECT_TYPES", {}))
        for object_type, fields in getattr(module, "FIELDS", {}).items():
            self.fields.setdefault(object_type, {}).update({k: _label(v) for k, v in fields.items()})
        self.common_fields.update({k: _label(v) for k, v in getattr(module, "COMMON_FIELDS", {}).items()})
        self.region_paths.update(getattr(module, "REGION_PATHS", {}))
        self.name_relations.update(getattr(module, "NAME_RELATIONS", {}))

    # --- reading ------------------------------------------------------------------------------------------------

    def action_label(self, code: str) -> str:
        return self.actions.get(code) or code

    def model_of(self, object_type: str):
        try:
            return apps.get_model(object_type)
        except (LookupError, ValueError):
            return None

    def object_type_label(self, object_type: str) -> str:
        if object_type in self.object_types:
            return self.object_types[object_type]
        model = self.model_of(object_type)
        return str(model._meta.verbose_name).capitalize() if model else object_type

    def object_type_choices(self) -> list[tuple[str, str]]:
        """Every object type the trail may hold: the declared ones and every model of the project's apps."""
        types = set(self.object_types)
        for config in _project_apps():
            types.update(model._meta.label_lower for model in config.get_models())
        return sorted(((t, self.object_type_label(t)) for t in types), key=lambda pair: pair[1].lower())

    def field(self, object_type: str, name: str) -> FieldSpec:
        key = (object_type, name)
        if key not in self._specs:
            self._specs[key] = self._resolve(object_type, name)
        return self._specs[key]

    def _resolve(self, object_type: str, name: str) -> FieldSpec:
        model = self.model_of(object_type)
        model_field = None
        if model is not None:
            try:
                model_field = model._meta.get_field(name)
            except FieldDoesNotExist:  # `ght_id`: the administration records the column (attname)
                model_field = next((f for f in model._meta.concrete_fields if f.attname == name), None)
        names = (name, model_field.name) if model_field is not None else (name,)
        declared = next((self.fields.get(object_type, {})[n] for n in names if n in self.fields.get(object_type, {})), None)
        common = next((self.common_fields[n] for n in names if n in self.common_fields), None)
        explicit = _explicit_verbose_name(model_field)
        label = (declared and declared.label) or explicit or (common and common.label) or name
        kind, related, choices = _kind_of(model_field)
        format_ = None
        for source in (common, declared):  # the object's own declaration wins over the common one
            if source is None:
                continue
            related = source.related or related
            kind = source.kind or (RELATED if source.related else CHOICE if source.choices else kind)
            choices = dict(source.choices) if source.choices else choices
            format_ = source.format or format_
        return FieldSpec(
            label=label, kind=kind, related=related, choices=choices, format=format_,
            declared=bool(declared or explicit or common),
        )


def _label(value) -> FieldLabel:
    return value if isinstance(value, FieldLabel) else FieldLabel(str(value))


def _explicit_verbose_name(field) -> str:
    """The model field's verbose name when someone wrote one (Django's default is the name with spaces)."""
    if field is None or not hasattr(field, "verbose_name"):
        return ""
    name = str(field.verbose_name)
    return "" if name == field.name.replace("_", " ") else name


def _kind_of(field) -> tuple[str, str, dict | None]:
    if field is None:
        return TEXT, "", None
    if getattr(field, "choices", None):
        return CHOICE, "", {str(k): str(v) for k, v in field.flatchoices}
    if field.is_relation and field.related_model is not None:
        return RELATED, field.related_model._meta.label_lower, None
    internal = field.get_internal_type()
    if internal == "BooleanField":
        return BOOLEAN, "", None
    if internal == "DateTimeField":
        return DATETIME, "", None
    if internal == "DateField":
        return DATE, "", None
    if internal == "DecimalField":
        # Money is Decimal euros (README): an amount says so in its name or its « (€) »; a share in its « (%) ».
        verbose = str(field.verbose_name).lower()
        if "amount" in field.name or "(€)" in verbose or "montant" in verbose:
            return EUROS, "", None
        return (PERCENT if "(%)" in verbose or "percent" in field.name else NUMBER), "", None
    if internal in ("IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField",
                    "BigIntegerField", "FloatField"):
        return NUMBER, "", None
    return TEXT, "", None


def _project_apps():
    base = str(Path(settings.BASE_DIR).resolve())
    return [
        config for config in apps.get_app_configs()
        if str(Path(config.path).resolve()).startswith(base) and "site-packages" not in config.path
    ]


def label_modules() -> list[str]:
    """The dotted names of every `audit_labels.py` in the project's apps (a part of an app included)."""
    base = Path(settings.BASE_DIR).resolve()
    names = set()
    for config in _project_apps():
        root = Path(config.path).resolve()
        for path in root.rglob("audit_labels.py"):
            if "migrations" not in path.parts:
                names.add(".".join(path.relative_to(base).with_suffix("").parts))
    return sorted(names)


@lru_cache(maxsize=1)
def registry() -> AuditRegistry:
    """The registry of the whole project, collected once (at startup: `HopenConfig.ready`)."""
    collected = AuditRegistry()
    for name in label_modules():
        collected.add_module(importlib.import_module(name))
    return collected
