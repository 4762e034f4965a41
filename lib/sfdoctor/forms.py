"""The interactive form of a runbook, built from its spec's parameters (ipywidgets).

The form cell is tagged `skip-execution`: JupyterLab runs it, papermill skips it, and the
`parameters` cell above it holds the same names with their defaults. Secrets are typed into
`Password` fields whose value is read when Run is pressed and then cleared at once, so no
secret stays in the widget state that Jupyter saves into the notebook (and that nbconvert
would embed in HTML). Before anything runs, the form says how many login attempts the run
will make with the tested user's credentials (principle 7: failed attempts count towards
the user's lockout).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import ipywidgets as widgets

from .errors import BadInput
from .runbooks import Parameter, RunbookSpec, convert_value, load, ui


def _widget_for(p: Parameter, lang: str) -> widgets.Widget:
    """One input widget per parameter type; labels and tooltips in `lang`."""
    from .i18n import pick

    label = pick(p.label, lang)
    common: dict[str, Any] = {"description": label, "tooltip": pick(p.help, lang),
                              "style": {"description_width": "initial"}}
    if p.secret:
        # Never pre-filled: a secret has no default by construction (runbooks.Parameter).
        return widgets.Password(value="", **common)
    default = p.papermill_default()
    if p.type == "choice":
        return widgets.Dropdown(options=list(p.choices), value=default, **common)
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


class RunbookForm(widgets.VBox):
    """The form: one field per parameter, the login-attempts note, Run, and an Output area."""

    def __init__(self, spec: RunbookSpec, lang: str, on_run: Callable[[dict[str, Any]], Any]):
        self.spec = spec
        self.lang = lang
        self.on_run = on_run
        self.fields: dict[str, widgets.Widget] = {p.name: _widget_for(p, lang) for p in spec.parameters}
        attempts = spec.login_attempts()
        note_text = ui("form.attempts", lang, n=attempts) if attempts else ui("form.attempts_none", lang)
        if any(p.secret for p in spec.parameters):
            note_text += " " + ui("form.secret_note", lang)
        self.note = widgets.HTML(f"<p><b>⚠</b> {_esc(note_text)}</p>")
        self.run_button = widgets.Button(description=ui("form.run", lang), button_style="primary", icon="play")
        self.output = widgets.Output()
        self.run_button.on_click(lambda _b: self.run())
        header = widgets.HTML(f"<h3>{_esc(spec.texts(lang).runbook_title)}</h3><p>{_esc(spec.texts(lang).summary)}</p>")
        super().__init__([header, *self.fields.values(), self.note, self.run_button, self.output])

    def values(self) -> dict[str, Any]:
        """Read and convert every field; secrets are read here and their widgets cleared."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for p in self.spec.parameters:
            w = self.fields[p.name]
            raw = w.value
            if p.secret:
                w.value = ""  # clear at once: the widget state must never hold the secret
                values[p.name] = raw
                continue
            if p.type == "date" and raw is None:
                values[p.name] = ""
                continue
            try:
                values[p.name] = convert_value(p, raw)
            except ValueError as exc:
                problems.append(ui("form.bad_value", self.lang, name=p.name, problem=str(exc)))
        if problems:
            raise BadInput("; ".join(problems))
        return values

    def run(self) -> Any:
        """What the Run button does: collect values, call on_run, show its findings in place."""
        self.output.clear_output()
        with self.output:
            try:
                values = self.values()
            except BadInput as exc:
                print(exc.one_line())
                return None
            self.run_button.disabled = True
            try:
                return self.on_run(values)
            finally:
                self.run_button.disabled = False


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def build_form(spec: RunbookSpec | str, lang: str, on_run: Callable[[dict[str, Any]], Any]) -> RunbookForm:
    """The ipywidgets form of a runbook; `on_run(values)` runs its checks when Run is pressed."""
    from .i18n import check_lang

    spec = spec if isinstance(spec, RunbookSpec) else load(spec)
    return RunbookForm(spec, check_lang(lang), on_run)
