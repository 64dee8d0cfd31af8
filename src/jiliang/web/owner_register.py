"""Registering an instrument 强检备案 at /owner/instruments/new: the form with its catalogue picker.
Choosing a catalogue item loads the item's types and verification procedures (an HTMX fragment);
choosing a procedure loads the instrument parameters the procedure needs (accuracy class, e ...)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import FormData

from ..deps import ConnDep, PlatformDep
from ..errors import JiliangError
from ..measurement.procedure import Procedure
from ..platform import Platform
from ..registry import queries, service
from ..registry.directory import list_districts, own_organisation
from .i18n import N_, bilingual
from .owner_access import OWNER_PAGES
from .render import language_of, redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import USES, translate, vocabulary

__all__ = ["router"]

router = page_router("/owner/instruments/new", OWNER_PAGES)

OUTSIDE = "none"  # the item choice for an instrument outside the mandatory catalogue (calibration only)
# the form's fields and their longest accepted value (the stored lengths; longer input is refused)
FIELDS = {
    "item_code": 32,
    "type_id": 12,
    "procedure_code": 32,
    "name": 128,
    "manufacturer": 128,
    "model": 64,
    "serial_no": 64,
    "use": 16,
    "district_code": 6,
    "zone": 16,
    "location": 256,
    "software_version": 64,
    "software_checksum": 128,
}
PARAMETER_LENGTH = 64


async def _posted(request: Request) -> FormData:
    return await request.form()  # already read (and cached) by the CSRF check


Posted = Annotated[FormData, Depends(_posted)]


def procedures_for(platform: Platform, item: dict[str, Any] | None) -> list[Procedure]:
    """The verification procedures that cover a catalogue item (by code or by catalogue name); for an
    instrument outside the catalogue, the laboratory calibration procedures."""
    if item is None:
        return [p for _, p in sorted(platform.procedures.items()) if p.purpose == "calibration"]
    return [
        p
        for code, p in sorted(platform.procedures.items())
        if p.purpose == "verification" and (code == item["code"] or p.catalogue_item_zh == item["name_zh"])
    ]


def _item_context(platform: Platform, conn: Connection, item_code: str, procedure_code: str = "") -> dict[str, Any]:
    item = next((i for i in queries.catalogue(conn) if i["code"] == item_code), None)
    procs = procedures_for(platform, item)
    default = procs[0] if procs and item is not None else None  # a calibration procedure is a choice
    chosen = next((p for p in procs if p.item_code == procedure_code), default)
    return {"item": item, "outside": item_code == OUTSIDE, "procedures": procs, "procedure": chosen}


def _form(
    request: Request,
    platform: Platform,
    conn: Connection,
    actor: Any,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    organisation = own_organisation(conn, actor)
    if not values.get("district_code") and organisation is not None:
        values = {**values, "district_code": organisation.district_code}
    context = {
        "catalogue": queries.catalogue(conn),
        "districts": list_districts(conn),
        "uses": USES,
        "organisation": organisation,
        "values": values,
        "error": error,
        "outside_value": OUTSIDE,
        **_item_context(platform, conn, values.get("item_code", ""), values.get("procedure_code", "")),
        **vocabulary(),
    }
    return render(request, "owner/instrument_new.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def new_instrument(request: Request, actor: PageActor, platform: PlatformDep, conn: ConnDep) -> HTMLResponse:
    return _form(request, platform, conn, actor, {"use": "trade"})


@router.get("/types", response_class=HTMLResponse)
def item_types(
    request: Request,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    item_code: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """The picker's fragment for one catalogue item: its types, procedures and their parameters."""
    context: dict[str, Any] = {"values": {}, **_item_context(platform, conn, item_code), **vocabulary()}
    return render(request, "owner/_item_details.html", context)


@router.get("/parameters", response_class=HTMLResponse)
def procedure_parameters(
    request: Request,
    actor: PageActor,
    platform: PlatformDep,
    procedure_code: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """The parameter fields of one procedure (when the owner picks another procedure)."""
    context: dict[str, Any] = {"values": {}, "procedure": platform.procedures.get(procedure_code)}
    return render(request, "owner/_procedure_params.html", context)


def _registration(values: dict[str, str], parameters: dict[str, str]) -> service.InstrumentRegistration:
    item = values["item_code"]
    type_id = values["type_id"]
    return service.InstrumentRegistration(
        item_code=None if item in ("", OUTSIDE) else item,
        name=values["name"].strip(),
        serial_no=values["serial_no"].strip(),
        use=values["use"],
        district_code=values["district_code"] or None,
        type_id=int(type_id) if type_id.isdigit() else None,
        procedure_code=values["procedure_code"] or None,
        manufacturer=values["manufacturer"].strip(),
        model=values["model"].strip(),
        software_version=values["software_version"].strip() or None,
        software_checksum=values["software_checksum"].strip() or None,
        parameters=parameters,
        zone=values["zone"] or None,
        location=values["location"].strip(),
    )


@router.post("", response_class=HTMLResponse)
def register(request: Request, actor: PageActor, platform: PlatformDep, conn: ConnDep, form: Posted) -> Response:
    values = {k: str(form.get(k) or "") for k in FIELDS}
    parameters = {
        str(k)[6:]: str(v).strip() for k, v in form.multi_items() if str(k).startswith("param_") and str(v).strip()
    }
    values.update({f"param_{k}": v for k, v in parameters.items()})
    too_long = [k for k, n in FIELDS.items() if len(values[k]) > n] + [
        k for k, v in parameters.items() if len(k) > 32 or len(v) > PARAMETER_LENGTH
    ]
    if too_long:
        message = translate(request, N_("Too long: %(fields)s."), fields=", ".join(too_long))
        return _form(request, platform, conn, actor, values, message, 422)
    if not values["item_code"] or not values["name"].strip():
        message = translate(request, N_("Choose the catalogue item and give the instrument's name."))
        return _form(request, platform, conn, actor, values, message, 422)
    try:
        iid = service.register_instrument(platform.uow(), actor, _registration(values, parameters))
    except JiliangError as exc:
        return _form(request, platform, conn, actor, values, bilingual(exc.message, language_of(request)), exc.status)
    flash = translate(request, N_("Instrument %(id)s is registered."), id=iid)
    return redirect(f"/owner/instruments/{iid}", flash=flash)
