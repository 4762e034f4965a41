"""The interactive form of a runbook, built from its spec's parameters (ipywidgets).

The form cell is tagged `skip-execution`: JupyterLab runs it, papermill skips it, and the
`parameters` cell above it holds the same names with their defaults. Secrets are typed into
`Password` fields that sync only when the person leaves the field (Enter, Tab, a click on
Run): the kernel then takes the value out of the widget at once, keeps it in a plain Python
attribute until Run uses it, and leaves the field empty with a placeholder saying a value
was entered. So no secret stays in the widget state that JupyterLab saves into the notebook
(on every save, autosave included, when "Save widget state" is on) and that nbconvert would
embed in HTML, whether or not Run is ever pressed. Before anything runs, the form says how
many login attempts the run will make with the tested user's credentials (principle 7:
failed attempts count towards the user's lockout).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import ipywidgets as widgets

from .errors import BadInput, check_lang, problem_text
from .i18n import t
from .params import choice_label, convert_value
from .runbooks import Parameter, RunbookSpec, load


def _label_width(spec: RunbookSpec, lang: str) -> str:
    """One width for every label, so the inputs line up in a column (CJK glyphs are ~2 columns)."""
    from .i18n import pick

    def cols(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    widest = max((cols(pick(p.label, lang)) for p in _on_form(spec) if p.type != "bool"), default=10)
    return f"{min(max(widest, 10), 40) * 0.62 + 1:.1f}em"


def _on_form(spec: RunbookSpec) -> list[Parameter]:
    """The parameters a person gives; the rest keep their defaults on the form."""
    return [p for p in spec.parameters if getattr(p, "on_form", True)]


def _widget_for(p: Parameter, lang: str, label_width: str = "initial") -> widgets.Widget:
    """One input widget per parameter type; labels and tooltips in `lang`."""
    from .i18n import pick

    label = pick(p.label, lang)
    common: dict[str, Any] = {"description": label, "tooltip": pick(p.help, lang),
                              "style": {"description_width": label_width}}
    # Wide enough for a username or an address (the default 300px cut "sync@acme.example" off)
    # and for a long checkbox label (the Japanese reset-link one ended in "…").
    common["layout"] = widgets.Layout(width="100%", max_width="46em")
    if p.secret:
        # Never pre-filled: a secret has no default by construction (runbooks.Parameter).
        # continuous_update=False: the value reaches the kernel once, when the person leaves the
        # field, not keystroke by keystroke (the kernel empties the field on arrival).
        return widgets.Password(value="", continuous_update=False, **common)
    default = p.papermill_default()
    if p.type == "choice":
        # (label, value): the form shows each choice's label in the run's language and hands
        # back the value, which -p, the orgs file and a demo operator may give by either.
        options = [(choice_label(p, c, lang), c) for c in p.choices]
        return widgets.Dropdown(options=options, value=default, **common)
    if p.type == "int":
        return widgets.IntText(value=int(default), **common)
    if p.type == "bool":
        return widgets.Checkbox(value=bool(default), indent=False, **common)
    if p.type == "date":
        value = dt.date.fromisoformat(default) if default else None
        return widgets.DatePicker(value=value, **common)
    if p.type == "list":
        return widgets.Textarea(value="\n".join(default or []), **common)
    return widgets.Text(value=str(default), **common)


def org_choices(spec: RunbookSpec | None = None) -> list[str]:
    """What the org field offers: the orgs file's orgs, `demo`, then the demo worlds of this
    runbook (of every runbook when none is given yet, as on the start-here form).

    An orgs file that cannot be read, or a checkout without the demo extra, offers less; the
    field still takes any typed name, and a wrong one is said when Run resolves it.
    """
    from .errors import SfdoctorError

    choices: list[str] = []
    try:
        from .orgs import list_orgs

        choices += [ref.name for ref in list_orgs()]
    except (SfdoctorError, OSError, ValueError):
        pass
    choices.append("demo")
    try:
        from .demo.scenario import list_builtin

        choices += [f"demo:{s.name}" for s in list_builtin() if spec is None or s.runbook == spec.id]
    except (ImportError, SfdoctorError, OSError, ValueError):
        pass
    return list(dict.fromkeys(choices))


def org_field(org: str, lang: str, label_width: str = "initial", spec: RunbookSpec | None = None) -> widgets.Combobox:
    """The org field every form shows: a choice of `org_choices(spec)` that also takes any typed name."""
    return widgets.Combobox(
        value=org, options=org_choices(spec), ensure_option=False, description=t("forms.org", lang),
        tooltip=t("forms.org_help", lang), placeholder=t("forms.org_help", lang),
        style={"description_width": label_width}, layout=widgets.Layout(width="100%", max_width="46em"))


def language_field(lang: str, label_width: str = "initial") -> widgets.ToggleButtons:
    """The run's language as a choice on the form, so a Japanese-speaking admin never edits the
    parameters cell: each choice is named in its own language, whatever the form's is."""
    from .i18n import LANGS

    return widgets.ToggleButtons(options=[(t("forms.language_name", code), code) for code in LANGS], value=lang,
                                 description=t("forms.language", lang), style={"description_width": label_width})


class RunbookForm(widgets.VBox):
    """The form: the org, one field per parameter, the login-attempts note, Run, and an Output area.

    With `org` given (a notebook's form), the form shows an org field (a choice of known orgs that
    also takes any typed name) and a language choice, and calls `on_run(values, org=chosen,
    lang=chosen)`; without it, `on_run(values)`. Choosing the other language relabels the form at
    once and keeps what was typed.
    """

    def __init__(self, spec: RunbookSpec, lang: str, on_run: Callable[..., Any], org: str | None = None):
        self.spec = spec
        self.lang = lang
        self.on_run = on_run
        width = _label_width(spec, lang)
        self.org_field: widgets.Combobox | None = None
        self.language: widgets.ToggleButtons | None = None
        if org is not None:
            self.org_field = org_field(org, lang, width, spec)
            self.language = language_field(lang, width)
            self.language.observe(lambda change: self.relabel(change["new"]), names="value")
        self.fields: dict[str, widgets.Widget] = {p.name: _widget_for(p, lang, width) for p in _on_form(spec)}
        # Typed secrets live here, never in a widget's synced state (see the module docstring).
        self._secrets: dict[str, str] = {}
        for p in _on_form(spec):
            if p.secret:
                self.fields[p.name].observe(self._take_secret(p.name), names="value")
        self.note = widgets.HTML(self._note_html(lang))
        self.run_button = widgets.Button(description=t("forms.run", lang), button_style="primary", icon="play")
        self.output = widgets.Output()
        # The run's summary, shown above the check cards once the run finishes (the cards
        # appear in `output` one by one while it runs; the answer should not sit below them).
        self.summary = widgets.HTML()
        self.run_button.on_click(lambda _b: self.run())
        self.header = widgets.HTML(self._header_html(lang))
        org_rows = [w for w in (self.language, self.org_field) if w is not None]
        super().__init__([self.header, *org_rows, *self.fields.values(), self.note, self.run_button, self.summary,
                          self.output])

    def _header_html(self, lang: str) -> str:
        texts = self.spec.texts(lang)
        return f"<h3>{_esc(texts.runbook_title)}</h3><p>{_esc(texts.summary)}</p>"

    def _note_html(self, lang: str) -> str:
        attempts = self.spec.login_attempts()
        note_text = t("forms.attempts", lang, n=attempts) if attempts else t("forms.attempts_none", lang)
        if any(p.secret for p in self.spec.parameters):
            note_text += " " + t("forms.secret_note", lang)
        return f"<p><b>⚠</b> {_esc(note_text)}</p>"

    def relabel(self, lang: str) -> None:
        """Every word of the form in `lang`; values, typed secrets and choices made stay as they are."""
        from .i18n import pick

        lang = check_lang(lang)
        self.lang = lang
        width = _label_width(self.spec, lang)
        self.header.value = self._header_html(lang)
        if self.org_field is not None:
            self.org_field.description = t("forms.org", lang)
            self.org_field.tooltip = self.org_field.placeholder = t("forms.org_help", lang)
            self.org_field.style.description_width = width
        if self.language is not None:
            self.language.description = t("forms.language", lang)
            self.language.style.description_width = width
        for p in _on_form(self.spec):
            field = self.fields[p.name]
            field.description, field.tooltip = pick(p.label, lang), pick(p.help, lang)
            field.style.description_width = width
            if p.type == "choice":
                value = field.value
                field.options = [(choice_label(p, c, lang), c) for c in p.choices]
                field.value = value
            if p.secret and p.name in self._secrets:
                field.placeholder = t("forms.secret_held", lang)
        self.note.value = self._note_html(lang)
        if not self.run_button.disabled:
            self.run_button.description = t("forms.run", lang)

    def _take_secret(self, name: str) -> Callable[[dict[str, Any]], None]:
        def take(change: dict[str, Any]) -> None:
            value = change["new"]
            if not value:
                return
            field = self.fields[name]
            self._secrets[name] = value
            field.value = ""  # at once: the widget state must never hold the secret
            field.placeholder = t("forms.secret_held", self.lang)

        return take

    def _forget_secrets(self) -> None:
        self._secrets.clear()
        for p in _on_form(self.spec):
            if p.secret:
                self.fields[p.name].value = ""
                self.fields[p.name].placeholder = ""

    def values(self) -> dict[str, Any]:
        """Read and convert every field; secrets come from where the form keeps them, not a widget."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for p in self.spec.parameters:
            if not getattr(p, "on_form", True):
                values[p.name] = p.papermill_default()  # set by schedules and fleets, never typed
                continue
            w = self.fields[p.name]
            raw = w.value
            if p.secret:
                values[p.name] = self._secrets.get(p.name, "")
                continue
            if p.type == "date" and raw is None:
                values[p.name] = ""
                continue
            try:
                values[p.name] = convert_value(p, raw)
            except ValueError as exc:
                problems.append(t("forms.bad_value", self.lang, name=p.name, problem=problem_text(exc, self.lang)))
        if problems:
            raise BadInput("; ".join(problems))
        return values

    def run(self) -> Any:
        """What the Run button does: collect values, call on_run, show its findings in place."""
        self.output.clear_output()
        self.summary.value = ""
        with self.output:
            try:
                values = self.values()
            except BadInput as exc:
                print(exc.one_line(self.lang))  # typed secrets are kept: nothing used them yet
                return None
            self.run_button.disabled = True
            self.run_button.description = t("forms.running", self.lang)
            try:
                if self.org_field is None:
                    result = self.on_run(values)
                else:
                    result = self.on_run(values, org=self.org_field.value.strip() or "demo", lang=self.lang)
                self._show_summary(result)
                return result
            finally:
                self._forget_secrets()  # used once
                self.run_button.description = t("forms.run", self.lang)
                self.run_button.disabled = False


    def _show_summary(self, result: Any) -> None:
        """The finished run's summary above the cards; anything else on_run returns shows nothing."""
        to_json = getattr(result, "to_json", None)
        if callable(to_json):
            from .report import summary_html

            self.summary.value = summary_html(to_json(), self.lang, self.spec)


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def build_form(spec: RunbookSpec | str, lang: str, on_run: Callable[..., Any], org: str | None = None) -> RunbookForm:
    """The ipywidgets form of a runbook; Run calls `on_run(values)`, or `on_run(values, org=...,
    lang=...)` when `org` (the notebook's) is given, which adds the org and language fields."""

    spec = spec if isinstance(spec, RunbookSpec) else load(spec)
    return RunbookForm(spec, check_lang(lang), on_run, org)
