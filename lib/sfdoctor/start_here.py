"""The "start here" notebook (notebooks/start-here.ipynb): from a pasted error to its runbook's report.

An admin pastes an error message or an error page's address, in English or Japanese, and
picks an org. The path is `sfdoctor triage`'s (sfdoctor.triage): `plan` picks the runbook that
fits and carries the text into its pasted parameter, `run_chosen` runs it and writes the same
report folder. This module shows each step in the notebook: the runbook chosen with the phrases
of the text that chose it, or, when nothing fits, that plainly with the list of runbooks; then
the run's summary and a link to its report.

Headless (papermill, parameters `text`, `org`, `lang`, `out`), the notebook's two cells call
`choose` and `run`; in JupyterLab, `build_form` puts both behind one button, with the org field
of the runbook forms. Either way the HTML goes out through `display`, so JupyterLab resolves the
report link against the notebook's folder (the kernel's working directory, where `out` lies).
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as widgets
from IPython.display import HTML, display

from .errors import BadInput, SfdoctorError, check_lang
from .forms import language_field, org_field
from .i18n import t
from .runbooks import all_specs, load
from .triage import Triage, carried_line, plan, run_chosen

if TYPE_CHECKING:
    from .runner import RunOutcome

_BOX = "font-family:system-ui,sans-serif;line-height:1.45;margin:.4em 0;"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- what is shown
def choice_html(chosen: Triage, lang: str) -> str:
    """The runbook that fits, the phrases of the pasted text that point to it, where the text goes."""
    spec = chosen.match.spec
    texts = spec.texts(lang)
    phrases = "".join(f"<li><q>{_e(p)}</q></li>" for p in chosen.match.matched)
    return (f'<div class="sfd-triage-choice" style="{_BOX}">'
            f"<p><b>{_e(t('start_here.fits', lang))}</b> {_e(texts.runbook_title)} (<code>{_e(spec.id)}</code>)</p>"
            f"<p>{_e(t('start_here.phrases', lang))}</p><ul>{phrases}</ul>"
            f"<p>{_e(carried_line(chosen, lang))}</p></div>")


def runbooks_html(lang: str) -> str:
    """Every runbook with what it is for: where to go when the text fits none."""
    items = "".join(f"<li><b>{_e(s.texts(lang).runbook_title)}</b> (<code>{_e(s.id)}</code>): {_e(s.texts(lang).summary)}</li>"
                    for s in all_specs())
    return f"<p>{_e(t('start_here.runbooks', lang))}</p><ul>{items}</ul>"


def no_fit_html(text: str, lang: str) -> str:
    """Nothing pasted, or nothing that any runbook's symptoms match: said plainly, then the runbooks."""
    if not text.strip():
        said = f"<p><b>{_e(t('start_here.no_text', lang))}</b></p>"
    else:
        said = f"<p><b>{_e(t('start_here.no_fit', lang))}</b></p>"
    return f'<div class="sfd-triage-nofit" style="{_BOX}">{said}{runbooks_html(lang)}</div>'


def report_href(folder: Path) -> str:
    """The link to a report: relative to the kernel's working directory when it lies below it (what
    JupyterLab resolves against the notebook's folder), else a file: URI."""
    report = Path(folder).resolve() / "report.html"
    try:
        return report.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return report.as_uri()


def outcome_html(outcome: RunOutcome, lang: str) -> str:
    """The link to the run's report (and its folder), then its summary as the runbook form shows it."""
    from .report import summary_html

    spec = load(outcome.findings["runbook"])
    link = (f'<p class="sfd-triage-report"><a href="{_e(report_href(outcome.folder))}" target="_blank">'
            f"{_e(t('start_here.open_report', lang))}</a> "
            f"<small>({_e(t('start_here.folder', lang, folder=outcome.folder))})</small></p>")
    return link + summary_html(outcome.findings, lang, spec)


# --------------------------------------------------------------------------- the notebook's steps
def plan_or_none(text: str) -> Triage | None:
    """triage.plan, with "nothing fits" (or nothing pasted) as None rather than an error."""
    if not text.strip():
        return None
    try:
        return plan(text)
    except BadInput:
        return None


def choose(text: str, lang: str) -> Triage | None:
    """Step 1: show which runbook fits the text and why, or that none does; return the plan."""
    lang = check_lang(lang)
    chosen = plan_or_none(text)
    display(HTML(choice_html(chosen, lang) if chosen else no_fit_html(text, lang)))
    return chosen


def run(chosen: Triage | None, org: str, lang: str, out: str | os.PathLike[str] = "reports",
        progress: Callable[[str], None] | None = None) -> RunOutcome | None:
    """Step 2: run the chosen runbook on `org` and show its summary and report link.

    Progress lines replace one another in one place (`progress`, else a display updated in
    place). Nothing chosen: says that nothing ran. A bad org: its one line, no report.
    """
    lang = check_lang(lang)
    if chosen is None:
        display(HTML(f"<p>{_e(t('start_here.nothing_run', lang))}</p>"))
        return None
    handle = None
    if progress is None:
        handle = display(HTML(""), display_id=True)

        def progress(line: str) -> None:
            handle.update(HTML(f"<p><small>{_e(line)}</small></p>"))

    try:
        outcome = run_chosen(chosen, org.strip() or "demo", out, lang, progress=progress)
    except SfdoctorError as exc:
        display(HTML(f'<p class="sfd-triage-error"><b>{_e(exc.one_line(lang))}</b></p>'))
        return None
    finally:
        if handle is not None:
            handle.update(HTML(""))  # the progress lines are done: the summary below says the rest
    display(HTML(outcome_html(outcome, lang)))
    return outcome


# --------------------------------------------------------------------------- the JupyterLab form
class StartHereForm(widgets.VBox):
    """The pasted text, the org field of the runbook forms, one button; `choose` and `run` below it."""

    def __init__(self, lang: str, org: str, out: str | os.PathLike[str], text: str = ""):
        self.lang, self.out = lang, out
        width = "9em"
        self.text_field = widgets.Textarea(
            value=text, description=t("start_here.text_label", lang), placeholder=t("start_here.text_placeholder", lang),
            style={"description_width": width}, layout=widgets.Layout(width="100%", max_width="46em", height="7em"))
        self.org_field = org_field(org, lang, width)
        self.language = language_field(lang, width)
        self.language.observe(lambda change: self.relabel(change["new"]), names="value")
        self.run_button = widgets.Button(description=t("start_here.run", lang), button_style="primary", icon="play",
                                         layout=widgets.Layout(width="max-content"))
        self.progress = widgets.HTML()
        self.output = widgets.Output()
        self.run_button.on_click(lambda _b: self.run())
        self.header = widgets.HTML(f"<h3>{_e(t('start_here.title', lang))}</h3>")
        super().__init__([self.header, self.language, self.text_field, self.org_field, self.run_button, self.progress,
                          self.output])

    def relabel(self, lang: str) -> None:
        """Every word of the form in `lang`, and the run in it; what was pasted and chosen stays."""
        self.lang = check_lang(lang)
        self.header.value = f"<h3>{_e(t('start_here.title', self.lang))}</h3>"
        self.language.description = t("forms.language", self.lang)
        self.text_field.description = t("start_here.text_label", self.lang)
        self.text_field.placeholder = t("start_here.text_placeholder", self.lang)
        self.org_field.description = t("forms.org", self.lang)
        self.org_field.tooltip = self.org_field.placeholder = t("forms.org_help", self.lang)
        if not self.run_button.disabled:
            self.run_button.description = t("start_here.run", self.lang)

    def _progress(self, line: str) -> None:
        self.progress.value = f"<small>{_e(line)}</small>"

    def run(self) -> RunOutcome | None:
        """What the button does: step 1 and step 2 into the form's output area."""
        self.output.clear_output()
        self.progress.value = ""
        with self.output:
            chosen = choose(self.text_field.value, self.lang)
            if chosen is None:
                return None
            self.run_button.disabled = True
            self.run_button.description = t("forms.running", self.lang)
            try:
                return run(chosen, self.org_field.value, self.lang, self.out, progress=self._progress)
            finally:
                self.progress.value = ""
                self.run_button.description = t("start_here.run", self.lang)
                self.run_button.disabled = False


def build_form(lang: str, org: str = "demo", out: str | os.PathLike[str] = "reports", text: str = "") -> StartHereForm:
    """The start-here form; the parameters cell's values are its starting values."""
    return StartHereForm(check_lang(lang), org, out, text)
