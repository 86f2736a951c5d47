"""Base model and shared field types for Codat payloads.

Everything here is tolerant by design, because Codat's real data is looser than its spec (see
``API-NOTES.md``, "Data quirks"):

* :class:`CodatModel` keeps unknown fields (``extra="allow"``) and remembers the mapping it was
  validated from (:attr:`CodatModel.raw`).
* :data:`CodatDateTime` reads every date form Codat sends and maps the ``0001-01-01`` sentinel to ``None``.
* :data:`CodatDecimal` keeps amounts exact, never passing them through binary floating point.
* :data:`OpenEnum` prefers a known enum member but keeps any other string as it came.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

from airflow_provider_codat.codat_time import parse_codat_datetime

__all__ = [
    "CodatDateTime",
    "CodatDecimal",
    "CodatModel",
    "HalRef",
    "OpenEnum",
    "Page",
    "PageLinks",
    "parse_codat_datetime",
    "to_decimal",
]

_EnumT = TypeVar("_EnumT", bound=Enum)

OpenEnum = Annotated[_EnumT | str, Field(union_mode="left_to_right")]
"""A spec enum that also admits unknown values: ``OpenEnum[TransactionType]``.

A value the enum knows becomes its member (``"Payout"`` -> ``TransactionType.PAYOUT``); any other
string (``"billing"``, ``"Chargeback"``) is kept unchanged as a plain ``str``.
"""


def to_decimal(value: Any) -> Any:
    """Turn an amount into an exact :class:`~decimal.Decimal`, or ``None`` for the empty string.

    A ``float`` goes through its shortest ``repr`` (``5e-07`` -> ``Decimal('5E-7')``,
    ``-283.56`` -> ``Decimal('-283.56')``), never through its binary value. ``bool`` is refused.
    Other values are returned unchanged for pydantic to judge.

    :param value: The raw field value.
    :raises ValueError: If ``value`` is a ``bool``.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        return Decimal(text) if text else None
    return value


CodatDateTime = Annotated[datetime | None, BeforeValidator(parse_codat_datetime)]
"""A Codat ``DateTime`` field: see :func:`parse_codat_datetime`."""

CodatDecimal = Annotated[Decimal | None, BeforeValidator(to_decimal)]
"""A Codat ``number``/``decimal`` field: see :func:`to_decimal`."""


class CodatModel(BaseModel):
    """Tolerant base of every Codat model, with lossless access to its input.

    Fields use snake_case names and the spec's names as aliases; both are accepted on input and
    ``model_dump(by_alias=True)`` gives back the spec's names. Unknown fields are kept in
    ``model_extra``, and every field is optional.

    :attr:`raw` is the mapping the instance was validated from, kept by reference: the argument of
    :meth:`from_raw` or ``model_validate``, the object :meth:`from_json` decoded (exact decimals) or
    ``model_validate_json`` decoded (floats), and for a nested model its part of that mapping. A
    model built from keyword arguments or ``model_construct`` has none, and :attr:`raw` falls back
    to ``model_dump(by_alias=True, mode="json")``. ``raw`` is the input as received: it does not
    follow later changes (or ``model_copy(update=...)``). Equality ignores it.
    """

    # defer_build: schemas are built on first use, which keeps ``import airflow_provider_codat.models`` cheap.
    # coerce_numbers_to_str: ids and codes sometimes arrive as JSON numbers; they are strings in the spec.
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, coerce_numbers_to_str=True, defer_build=True
    )

    _raw: Mapping[str, Any] | None = PrivateAttr(default=None)

    def __init__(self, /, **data: Any) -> None:
        super().__init__(**data)
        self._remember(None)  # keyword arguments are not a payload

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, Mapping):
            model._remember(data)
        return model

    def _remember(self, data: Mapping[str, Any] | None) -> None:
        # Written straight into the private dict: BaseModel.__setattr__ is slow, and this runs per instance.
        if self.__pydantic_private__ is not None:
            self.__pydantic_private__["_raw"] = data

    @classmethod
    def from_raw(cls, data: Mapping[str, Any]) -> Self:
        """Validate a decoded Codat payload and keep a reference to it as :attr:`raw`.

        :param data: One record (or envelope) as decoded from JSON, with the spec's field names.
        :raises pydantic.ValidationError: If ``data`` does not fit the model.
        """
        model = cls.model_validate(data)
        model._remember(data)
        return model

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Decode JSON with exact decimals (never floats), then :meth:`from_raw` the result.

        :param text: A JSON document holding one object.
        :raises ValueError: If ``text`` is not JSON (:class:`json.JSONDecodeError`).
        :raises pydantic.ValidationError: If the object does not fit the model.
        """
        data = json.loads(text, parse_float=Decimal)
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}.from_json: expected a JSON object, got {type(data).__name__}")
        return cls.from_raw(data)

    @property
    def raw(self) -> Mapping[str, Any]:
        """The mapping this model was validated from, or its alias-keyed JSON dump if there is none."""
        private = self.__pydantic_private__
        raw: Mapping[str, Any] | None = private.get("_raw") if private is not None else None
        if raw is not None:
            return raw
        return self.model_dump(by_alias=True, mode="json")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CodatModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable like BaseModel


class HalRef(CodatModel):
    """A HAL link: a relative ``href``."""

    href: str | None = Field(default=None, alias="href")


class PageLinks(CodatModel):
    """The ``_links`` of a page: ``self``, ``current`` and, where they exist, ``next`` and ``previous``."""

    self_: HalRef | None = Field(default=None, alias="self")
    current: HalRef | None = Field(default=None, alias="current")
    next: HalRef | None = Field(default=None, alias="next")
    previous: HalRef | None = Field(default=None, alias="previous")


RecordT = TypeVar("RecordT", bound=CodatModel)


class Page(CodatModel, Generic[RecordT]):
    """One page of a paged Codat list (``PagingInfo`` plus ``results``), e.g. ``Page[Order]``."""

    results: list[RecordT] = Field(default_factory=list, alias="results")
    page_number: int | None = Field(default=None, alias="pageNumber")
    page_size: int | None = Field(default=None, alias="pageSize")
    total_results: int | None = Field(default=None, alias="totalResults")
    links: PageLinks | None = Field(default=None, alias="_links")
