"""Permalinks: the URL's query parameters carry the view, so a link reopens it.

What travels (never a key): the source kind, the project and block ids, the anomaly threshold, the
model type, the smoothing `N:K` and cool-down, the fleet log and its device and time columns, the
chosen device, the comparison block, the matched false-alarm rate, the alarm budget, presentation
mode and its step. The page is the URL's path. An uploaded file cannot travel: its name does, and
is said on arrival ("upload it to see it").

On a session's first run `read_link` parses the parameters once into a `LinkRequest` (query
parameter values are outside text: they are checked against what exists, never rendered as
markdown). Values that set a non-widget slot or a sidebar widget are applied at once; a page's own
widget takes its value through `seed` just before it is drawn. A value that is not a number, out of
range or no longer exists becomes a note (`show_link_notes`) and the default is used. `publish`
writes the view back to `st.query_params` at the end of every run and fragment run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.alarms import FleetPolicy, Smoothing
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.review import SourceKind, threshold_meaning

from . import state
from .fleet import DEMO_FLEET, LAST_UPLOAD, FleetChoice
from .text import md_escape, shorten
from .uploads import last_scored

# The query parameters, in the order a link spells them.
SOURCE, PROJECT, BLOCK, FILE = "source", "project", "block", "file"
THRESHOLD, MODEL_TYPE = "threshold", "model_type"
SMOOTH, COOLDOWN = "smooth", "cooldown"
FLEET, UPLOAD, DEVICE_COLUMN, TIME_COLUMN, DEVICE = "fleet", "upload", "device_col", "time_col", "device"
COMPARE, FPR, BUDGET = "compare", "fpr", "budget"
PRESENT, STEP = "present", "step"
ORDER = (
    SOURCE,
    PROJECT,
    BLOCK,
    FILE,
    THRESHOLD,
    MODEL_TYPE,
    SMOOTH,
    COOLDOWN,
    FLEET,
    UPLOAD,
    DEVICE_COLUMN,
    TIME_COLUMN,
    DEVICE,
    COMPARE,
    FPR,
    BUDGET,
    PRESENT,
    STEP,
)
FLEET_LOGS = {"demo": DEMO_FLEET, "upload": LAST_UPLOAD}  # the Fleet page's logs, as a link spells them
NO_COLUMN = "(none)"  # the Fleet page's choice of no device (or no time) column, as its selectboxes spell it
MAX_STEPS = 9  # presentation steps a link may name (components.present has fewer; it clamps)
MAX_VALUE = 200  # characters of one parameter value kept (a column name, a device id)
SHOWN = 80  # characters of a value said in a note


@dataclass
class LinkRequest:
    """The parameters a link opened with, and the notes about those that could not be used.
    `pending` holds the values a page's widget has not taken yet (`seed` takes them)."""

    pending: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    upload_note_shown: bool = False


LINK = state.Slot(state.LINK_REQUEST, LinkRequest)


def _said(value: str) -> str:
    """A parameter value in a note: cut, as a code span (never rendered as markdown; a backtick in
    it ends the span and the rest is escaped by `md_escape`)."""
    return md_escape(f"`{shorten(value, SHOWN)}`", None) if value.strip("`") else md_escape(value or "(empty)")


def _note(link: LinkRequest, text: str) -> None:
    if text not in link.notes:
        link.notes.append(text)


def _number(link: LinkRequest, name: str, what: str, lo: float, hi: float) -> float | None:
    """A pending numeric parameter within [lo, hi], else a note and None."""
    raw = link.pending.pop(name, None)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not lo <= value <= hi:
        _note(link, f"The link's {what} ({_said(raw)}) is not a number from {lo:g} to {hi:g}: the default is used.")
        return None
    return value


def read_link(params: Mapping[str, str]) -> LinkRequest:
    """Once per session, before the sidebar is drawn: parse the link, set the source's widgets."""
    found = LINK.get()
    if found is not None:
        return found
    link = LinkRequest({k: str(v)[:MAX_VALUE] for k, v in params.items() if k in ORDER})
    LINK.set(link)
    kinds = {k.value: k for k in SourceKind}
    raw_kind = link.pending.pop(SOURCE, None)
    kind = kinds.get(raw_kind or SourceKind.DEMO.value)
    if kind is None:
        _note(link, f"The link's source ({_said(raw_kind or '')}) is not one of {', '.join(kinds)}: the demo is shown.")
        kind = SourceKind.DEMO
    st.session_state[state.SOURCE] = kind
    if kind == SourceKind.PROJECT:
        project = link.pending.pop(PROJECT, "")
        if project.isdigit():
            st.session_state[state.PROJECT_ID] = project
        else:
            _note(link, f"The link's project ID ({_said(project)}) is not a number: enter the project in the sidebar.")
    if link.pending.pop(PRESENT, None) == "1":
        st.session_state[state.PRESENT] = True
        step = link.pending.pop(STEP, "1")
        st.session_state[state.PRESENT_STEP] = int(step) if step.isdigit() and 1 <= int(step) <= MAX_STEPS else 1
    if kind == SourceKind.FILE and (name := link.pending.pop(FILE, None)):
        _note(
            link,
            f"This view used an uploaded metadata file, {_said(name)}: upload it in the sidebar to see it.",
        )
    return link


def seed_block(options: Sequence[int], key: str) -> None:
    """The sidebar's block choice (demo or project) from the link, when that block exists."""
    link = LINK.get()
    if link is None or BLOCK not in link.pending:
        return
    raw = link.pending.pop(BLOCK)
    if raw.isdigit() and int(raw) in options:
        st.session_state[key] = int(raw)
    else:
        _note(
            link,
            f"The link's block ({_said(raw)}) is not a block of this project "
            f"({', '.join(f'#{i}' for i in options)}): the first is shown.",
        )


def apply_view(block: AnomalyBlock) -> None:
    """After the source is loaded: the threshold and the alarm policy the link names."""
    link = LINK.get()
    if link is None:
        return
    if BLOCK in link.pending:  # the block choice was never drawn (a file source, or a project that failed)
        link.pending.pop(BLOCK)
    meaning = threshold_meaning(block, threshold=block.anomaly_threshold)
    value = _number(link, THRESHOLD, "threshold", -1e9, 1e9)
    if value is not None:
        st.session_state[state.shared_threshold(block.fingerprint, meaning.key)] = value
    _apply_policy(link)
    name = link.pending.get(UPLOAD)
    if name is not None and last_scored(block) is not None:
        link.pending.pop(UPLOAD)  # a file was uploaded since: the link's name has done its work
    elif name is not None and not link.upload_note_shown:
        link.upload_note_shown = True
        _note(link, f"This view used an uploaded file, {_said(name)}; upload it on the Scoring page to see it.")


def _apply_policy(link: LinkRequest) -> None:
    raw_smooth = link.pending.pop(SMOOTH, None)
    cooldown = _number(link, COOLDOWN, "cool-down (minutes)", 0, 1e6)
    if raw_smooth is None and cooldown is None:
        return
    smoothing: Smoothing | None = Smoothing(10, 7)
    if raw_smooth == "off":
        smoothing = None
    elif raw_smooth is not None:
        n, _, k = raw_smooth.partition(":")
        try:
            smoothing = Smoothing(int(n), int(k))
        except (ValueError, AnomalyLensError):
            _note(
                link,
                f"The link's smoothing ({_said(raw_smooth)}) is not `N:K` with 1 ≤ K ≤ N ≤ 255: 10:7 is used.",
            )
    st.session_state[state.SHARED_POLICY] = FleetPolicy(smoothing, (cooldown or 0.0) * 60)


def seed(key: str, name: str, options: Sequence[Any], what: str, shown: Sequence[str] | None = None) -> None:
    """Before a page draws the widget `key`: its value from the link's parameter `name`, when the
    value is one of `options` (compared as text; `shown`, the texts a link spells); else a note."""
    link = LINK.get()
    if link is None or name not in link.pending:
        return
    raw = link.pending.pop(name)
    texts = list(shown) if shown is not None else [str(o) for o in options]
    if raw in texts:
        st.session_state[key] = options[texts.index(raw)]
    else:
        _note(link, f"The link's {what} ({_said(raw)}) is not here: the default is shown.")


def seed_number(key: str, name: str, what: str, lo: float, hi: float) -> None:
    """Before a page draws the number input `key`: its value from the link, within [lo, hi]."""
    link = LINK.get()
    if link is None:
        return
    value = _number(link, name, what, lo, hi)
    if value is not None:
        st.session_state[key] = value


def seed_budget(number_key: str, per_key: str) -> None:
    """The Fleet page's alarm budget, spelled `1/day` or `2/week`."""
    link = LINK.get()
    if link is None or BUDGET not in link.pending:
        return
    raw = link.pending[BUDGET]
    amount, _, per = raw.partition("/")
    link.pending[BUDGET] = amount
    value = _number(link, BUDGET, "alarm budget", 0, 1e6)
    if value is None:
        return
    if per not in ("day", "week"):
        _note(link, f"The link's budget ({_said(raw)}) is not `N/day` or `N/week`: the default is used.")
        return
    st.session_state[number_key], st.session_state[per_key] = value, per


def show_link_notes(where: Any, phase: str) -> None:
    """The notes about the link's parameters that could not be used, in `where` (an `st.empty()`
    at the top of the page: filled before the page runs and again after, when its own widgets have
    taken their values), until dismissed."""
    link = LINK.get()
    if link is None or not link.notes:
        where.empty()
        return
    with where.container(key=f"link_notes_{phase}"):
        for text in link.notes:
            st.warning(text, icon=":material/link_off:")
        st.button("Dismiss", key=f"{state.LINK_DISMISS}_{phase}", icon=":material/close:", on_click=link.notes.clear)


def _threshold_text(value: float) -> str:
    return f"{value:.6g}"


def current_view(block: AnomalyBlock | None) -> dict[str, str]:
    """The view as query parameters, from this session's state (what `publish` writes)."""
    ss = st.session_state
    view: dict[str, str] = {}
    kind = ss.get(state.SOURCE, SourceKind.DEMO)
    kind = kind if isinstance(kind, SourceKind) else SourceKind.DEMO
    view[SOURCE] = kind.value
    if kind == SourceKind.PROJECT:
        project = str(ss.get(state.PROJECT_ID) or "").strip()
        if project.isdigit():
            view[PROJECT] = project
        if isinstance(ss.get(state.BLOCK), int):
            view[BLOCK] = str(ss[state.BLOCK])
    elif kind == SourceKind.DEMO:
        if isinstance(ss.get(state.DEMO_BLOCK), int):
            view[BLOCK] = str(ss[state.DEMO_BLOCK])
    elif (upload := ss.get(state.METADATA_FILE)) is not None:
        view[FILE] = str(getattr(upload, "name", ""))[:MAX_VALUE]
    if block is not None:
        meaning = threshold_meaning(block, threshold=block.anomaly_threshold)
        value = ss.get(state.shared_threshold(block.fingerprint, meaning.key))
        if isinstance(value, (int, float)):
            view[THRESHOLD] = _threshold_text(float(value))
    for key in (state.VALIDATION_TYPE, state.DEVICE_TYPE):
        if isinstance(ss.get(key), str):
            view[MODEL_TYPE] = ss[key]
    policy = ss.get(state.SHARED_POLICY)
    if isinstance(policy, FleetPolicy):
        s = policy.smoothing
        view[SMOOTH] = f"{s.n_readings}:{s.min_readings_same}" if s is not None else "off"
        view[COOLDOWN] = f"{policy.cooldown_s / 60:g}"
    choice = ss.get(state.FLEET_CHOICE)
    if isinstance(choice, FleetChoice):
        logs = {v: k for k, v in FLEET_LOGS.items()}
        if choice.log in logs:
            view[FLEET] = logs[choice.log]
        view[DEVICE_COLUMN] = str(choice.device or NO_COLUMN)[:MAX_VALUE]
        view[TIME_COLUMN] = str(choice.time or NO_COLUMN)[:MAX_VALUE]
    scored = last_scored(block) if block is not None else None
    if scored is not None:
        view[UPLOAD] = scored.name[:MAX_VALUE]
    if ss.get(state.FLEET_DEVICE) is not None:
        view[DEVICE] = str(ss[state.FLEET_DEVICE])[:MAX_VALUE]
    if isinstance(ss.get(state.COMPARE_BLOCK), int):
        view[COMPARE] = str(ss[state.COMPARE_BLOCK])
    if isinstance(ss.get(state.COMPARE_FALSE_ALARM), (int, float)):
        view[FPR] = f"{float(ss[state.COMPARE_FALSE_ALARM]):g}"
    if isinstance(ss.get(state.FLEET_BUDGET), (int, float)):
        view[BUDGET] = f"{float(ss[state.FLEET_BUDGET]):g}/{ss.get(state.FLEET_BUDGET_PER) or 'day'}"
    if ss.get(state.PRESENT):
        view[PRESENT] = "1"
        view[STEP] = str(ss.get(state.PRESENT_STEP) or 1)
    return view


def publish(block: AnomalyBlock | None) -> None:
    """Write the view to the URL (only when it changed). Values the link named that no widget has
    taken yet (a page that stopped early, an upload still missing) stay in it."""
    view = current_view(block)
    link = LINK.get()
    if link is not None:
        for name, value in link.pending.items():
            view.setdefault(name, value)
    ordered = {k: view[k] for k in ORDER if k in view}
    try:
        now = st.query_params.to_dict()
    except Exception:  # outside a script run (tests calling helpers): nothing to write to
        return
    if now != ordered:
        st.query_params.from_dict(ordered)


COPY_LINK_HTML = """
<style>
.al-copy-link-button { font: inherit; font-size: 0.95rem; padding: 0.35rem 0.8rem; border-radius: 0.5rem;
  border: 1px solid #475569; background: #ffffff; color: #111827; cursor: pointer; }
.al-copy-link-button:hover { border-color: #0b5cad; color: #0b5cad; }
.al-copy-link-button:focus-visible { outline: 3px solid #0b5cad; outline-offset: 2px; }
.al-copy-link-status { display: block; font-size: 0.85rem; color: #334155; margin-top: 0.25rem; word-break: break-all; }
</style>
<div class="al-copy-link">
  <button type="button" class="al-copy-link-button" aria-describedby="al-copy-link-status">
    Copy link to this view
  </button>
  <span class="al-copy-link-status" id="al-copy-link-status" role="status" aria-live="polite"></span>
</div>
<script>
(() => {
  const root = document.currentScript ? document.currentScript.previousElementSibling : null;
  const boxes = root ? [root] : [...document.querySelectorAll('.al-copy-link')];
  for (const box of boxes) {
    const button = box.querySelector('button');
    const status = box.querySelector('[role=status]');
    if (!button || button.dataset.ready) continue;
    button.dataset.ready = '1';
    button.addEventListener('click', async () => {
      const link = window.location.href;  // read on click: the URL as the last change left it
      let copied = false;
      try {
        await navigator.clipboard.writeText(link);
        copied = true;
      } catch (e) {
        const area = document.createElement('textarea');
        area.value = link;
        area.setAttribute('readonly', '');
        area.style.position = 'fixed';
        area.style.opacity = '0';
        document.body.appendChild(area);
        area.select();
        try { copied = document.execCommand('copy'); } catch (e2) { copied = false; }
        area.remove();
      }
      status.textContent = copied ? 'Link copied.' : 'Copy this link: ' + link;
      button.dataset.link = link;
    });
  }
})();
</script>
"""


def show_copy_link() -> None:
    """A "Copy link" button: copies the browser's URL at the moment of the click (the query
    parameters `publish` keeps current, fragment reruns included). No outside text in it."""
    st.html(COPY_LINK_HTML, unsafe_allow_javascript=True)
