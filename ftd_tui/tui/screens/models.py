"""`b`: choosing the base model. The models ftd knows (its catalog, and any snapshot in the local
Hugging Face cache), filtered and sorted, with the figures that matter at this project's own
budget: training memory for the method, the GPU class that fits, file sizes, and the base pass
rate once a baseline measured it. Space shortlists, `v` compares the shortlist side by side,
Enter chooses: ftd.yaml and model-choice.md are updated by exact edits (your prose is kept).

Every figure says where it came from; an unknown one says unknown."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from ...core.text.textsafe import clean, clean_line
from ..messages import ModelChosen

METHODS = ("qlora", "lora", "full")
SORTS = ("params", "context", "vocab", "memory", "id")


def _num(x, fmt: str = "{:,}") -> str:
    return "unknown" if x is None else fmt.format(x)


class ModelsScreen(Screen[None]):
    DEFAULT_CSS = """
    ModelsScreen #models-title { height: 1; background: $boost; padding: 0 1; }
    ModelsScreen #filter { height: 3; }
    ModelsScreen #models-body { height: 1fr; }
    ModelsScreen #models { width: 1fr; border: round $primary-muted; }
    ModelsScreen #models:focus { border: round $primary; }
    ModelsScreen #model-detail { width: 58; border: round $primary-muted; padding: 0 1; }
    ModelsScreen.narrow #model-detail { width: 40; }
    """
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="models-filter"),
        Binding("o", "sort", "Sort", id="models-sort"),
        Binding("x", "method", "Method", id="models-method"),
        Binding("c", "fused", "Fused CE on/off", id="models-fused"),
        Binding("space", "shortlist", "Shortlist", id="models-shortlist"),
        Binding("v", "compare", "Compare", id="models-compare"),
        Binding("enter", "choose", "Choose", id="models-choose", priority=True),
        Binding("escape", "close", "Back", id="models-close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.facts: list = []
        self.rows: list = []
        self.method = "qlora"
        self.fused = True
        self.sort = "params"
        self.shortlist: list[str] = []
        self.comparing = False
        self.budget: int | None = None
        self.hardware_gb: float | None = None
        self.chosen: str | None = None
        self.pass_rates: dict[str, float] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("Base models · loading the catalog…"), id="models-title")
        yield Input(placeholder="/ filter: id, family, license, format…", id="filter")
        with Horizontal(id="models-body"):
            yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="model-detail"):
                yield Static(Text(""), id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 130, "narrow")
        table = self.query_one("#models", DataTable)
        # the figures that decide come first; narrow terminals cut the rest
        for col in ("★", "model", "params", "context", "memory", "fits", "base pass", "vocab", "family", "license"):
            table.add_column(col, key=col)
        table.focus()
        self.load()

    @property
    def project(self):
        return self.app.project

    @work(thread=True, exclusive=True, group="models")
    def load(self) -> None:
        from ...core.economics.catalog import known_models
        from ...core.economics.memory import parse_hardware_gb

        project = self.project
        settings = project.files["settings"].ensure_parsed().data or {}
        budget = (settings.get("budget") or {}).get("max_transcript_tokens") if isinstance(settings, dict) else None
        hardware = (settings.get("deployment") or {}).get("hardware") if isinstance(settings, dict) else None
        mc = project.files["model-choice"].ensure_parsed()
        fm = mc.md.front_matter.data if mc.md is not None and mc.md.front_matter is not None else None
        chosen = fm.get("chosen") if isinstance(fm, dict) else None
        method = fm.get("method") if isinstance(fm, dict) and fm.get("method") in METHODS else "qlora"
        shortlist = [c.get("id") for c in (fm.get("candidates") or []) if isinstance(c, dict)] if isinstance(fm, dict) else []
        facts = known_models(project.root)
        rates = self._pass_rates(facts)
        self.app.call_from_thread(self._loaded, facts, budget if isinstance(budget, int) else None,
                                  parse_hardware_gb(hardware if isinstance(hardware, str) else None),
                                  chosen if isinstance(chosen, str) else None, method, shortlist, rates)

    def _pass_rates(self, facts) -> dict[str, float]:
        """The latest finished baseline's pass rate, on the model it measured (the base role's
        model string matched to a catalog id by its Ollama tag or its name)."""
        from ...core.evaluation import runs

        for info in runs.list_runs(self.project.root):
            if info.state != "done" or info.smoke or info.pass_rate is None:
                continue
            manifest = runs.read_json(info.path / runs.MANIFEST) or {}
            model = str(((manifest.get("models") or {}).get("base") or {}).get("model") or "")
            tag = model.split("/", 1)[-1].lower()
            for f in facts:
                names = {str(f.id).lower(), str(f.id).split("/")[-1].lower(), str(getattr(f, "ollama", "") or "").lower()}
                if tag in names:
                    return {f.id: info.pass_rate}
            return {}
        return {}

    def _loaded(self, facts, budget, hardware_gb, chosen, method, shortlist, rates) -> None:
        self.facts, self.budget, self.hardware_gb = facts, budget, hardware_gb
        self.chosen, self.method, self.pass_rates = chosen, method, rates
        self.shortlist = [s for s in shortlist if isinstance(s, str)]
        self.refresh_table()

    # ------------------------------------------------------------ figures
    def memory(self, f):
        from ...core.economics.memory import Arch, figures_for

        if self.budget is None or not f.params_b or not f.hidden_size or not f.num_layers or not f.vocab_size:
            return None
        arch = Arch(params_b=f.params_b, hidden_size=f.hidden_size, num_layers=f.num_layers, vocab_size=f.vocab_size,
                    num_attention_heads=f.num_attention_heads, num_kv_heads=f.num_kv_heads,
                    intermediate_size=f.intermediate_size, tied_embeddings=bool(f.tied_embeddings),
                    head_dim=getattr(f, "head_dim", None))
        return figures_for(arch, self.budget, fused_ce=self.fused)[self.method]

    def refresh_table(self) -> None:
        query = self.query_one("#filter", Input).value.strip().lower()
        rows = []
        for f in self.facts:
            hay = " ".join(str(x) for x in (f.id, f.family, f.license, " ".join(f.formats or []), f.ollama or "")).lower()
            if query and not all(w in hay for w in query.split()):
                continue
            rows.append((f, self.memory(f)))
        key = {"params": lambda r: (r[0].params_b or 0), "context": lambda r: (r[0].context_window or 0),
               "vocab": lambda r: (r[0].vocab_size or 0), "memory": lambda r: (r[1].total_gb if r[1] else 1e9),
               "id": lambda r: str(r[0].id).lower()}[self.sort]
        rows.sort(key=key)
        self.rows = rows
        table = self.query_one("#models", DataTable)
        table.clear()
        for f, mem in rows:
            star = "●" if f.id == self.chosen else "★" if f.id in self.shortlist else ""
            ctx_style = "bold red" if self.budget and f.context_window and f.context_window < self.budget else ""
            mem_style = "yellow" if mem and self.hardware_gb and mem.total_gb > self.hardware_gb else ""
            rate = self.pass_rates.get(f.id)
            table.add_row(star, Text(clean_line(str(f.id))), _num(f.params_b, "{:g}B"),
                          Text(_num(f.context_window), style=ctx_style),
                          Text(f"{mem.total_gb:.1f} GB" if mem else "unknown", style=mem_style),
                          (mem.fits or ">80 GB") if mem else "–", f"{100 * rate:.0f}%" if rate is not None else "untested",
                          _num(f.vocab_size), Text(clean_line(str(f.family or "–"))),
                          Text(clean_line(str(f.license or "unknown"))[:24]), key=str(f.id))
        budget = f"{self.budget:,}-token budget" if self.budget else "no budget set (memory unknown)"
        hw = f" · hardware {self.hardware_gb:g} GB" if self.hardware_gb else ""
        self.query_one("#models-title", Static).update(Text(
            f"Base models · {len(rows)} of {len(self.facts)} · {self.method} at the {budget}{hw} · "
            f"cross-entropy {'fused/chunked' if self.fused else 'naive (full logits)'} · sort {self.sort}"))
        if rows:
            self.show_detail(0)

    @on(DataTable.RowHighlighted, "#models")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.comparing and event.cursor_row is not None and event.cursor_row < len(self.rows):
            self.show_detail(event.cursor_row)

    def show_detail(self, index: int) -> None:
        from ...core.economics.memory import Arch, file_sizes

        f, mem = self.rows[index]
        out = Text()
        out.append(clean_line(str(f.id)) + "\n", style="bold")
        src = getattr(f, "source", None) or {}
        urls = getattr(f, "sources", None) or {}
        for label, key, value in (("parameters", "params_b", _num(f.params_b, "{:g} B")),
                                  ("context window", "context_window", _num(f.context_window)),
                                  ("vocabulary", "vocab_size", _num(f.vocab_size)),
                                  ("license", "license", str(f.license or "unknown")),
                                  ("formats", "formats", ", ".join(f.formats or []) or "unknown"),
                                  ("Ollama tag", "ollama", str(f.ollama or "–")),
                                  ("family", "family", str(f.family or "–"))):
            out.append(clean_line(f"{label:<15} {value}"))
            out.append(clean_line(f"  [{src.get(key, 'catalog')}]") + "\n", style="dim")
        if urls:
            out.append(clean_line(f"sources: {urls.get('context_window') or next(iter(urls.values()))}"
                                  + (f" (as of {f.as_of})" if getattr(f, "as_of", None) else "")) + "\n", style="dim")
        if self.budget and f.context_window and f.context_window < self.budget:
            out.append(f"context window below the {self.budget:,}-token budget\n", style="bold red")
        out.append("\n")
        if mem is None:
            out.append("training memory: unknown (needs the budget and the architecture)\n", style="yellow")
        else:
            out.append(f"training memory, {mem.method}: {mem.total_gb:.1f} GB → {mem.fits or 'more than one 80 GB GPU'}\n",
                       style="bold")
            for part in mem.parts:
                out.append(clean_line(f"  {part.name:<14} {part.gb:6.1f} GB  {part.assumption}") + "\n")
            for a in mem.assumptions:
                out.append(clean_line(f"  assumes: {a}") + "\n", style="dim")
            if self.hardware_gb and mem.total_gb > self.hardware_gb:
                out.append(f"  more than the {self.hardware_gb:g} GB of the hardware in ftd.yaml\n", style="yellow")
        if f.params_b:
            arch = Arch(params_b=f.params_b, hidden_size=f.hidden_size or 0, num_layers=f.num_layers or 0,
                        vocab_size=f.vocab_size or 0)
            sizes = file_sizes(arch)
            out.append("\nfile sizes: " + " · ".join(f"{k} {v:.1f} GB" for k, v in sizes.items()) + "\n")
        rate = self.pass_rates.get(f.id)
        out.append(f"\nbase pass rate: {100 * rate:.0f}% (latest baseline)\n" if rate is not None
                   else "\nbase pass rate: untested\n", style="" if rate is not None else "dim")
        if f.notes:
            out.append("\n" + clean(str(f.notes)) + "\n", style="dim")
        out.append("\nSpace shortlist · v compare · Enter choose · x method · c cross-entropy · o sort · / filter",
                   style="dim")
        self.query_one("#detail", Static).update(out)

    # ------------------------------------------------------------ actions
    @on(Input.Changed, "#filter")
    def filtered(self, event: Input.Changed) -> None:
        self.refresh_table()

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        self.query_one("#models", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_table()

    def action_method(self) -> None:
        self.method = METHODS[(METHODS.index(self.method) + 1) % len(METHODS)]
        self.refresh_table()

    def action_fused(self) -> None:
        self.fused = not self.fused
        self.refresh_table()

    def _current(self):
        table = self.query_one("#models", DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row][0]

    def action_shortlist(self) -> None:
        f = self._current()
        if f is None:
            return
        if f.id in self.shortlist:
            self.shortlist.remove(f.id)
        else:
            self.shortlist.append(f.id)
        row = self.query_one("#models", DataTable).cursor_row
        self.refresh_table()
        self.query_one("#models", DataTable).move_cursor(row=row)

    def action_compare(self) -> None:
        self.comparing = not self.comparing
        if not self.comparing:
            self.show_detail(self.query_one("#models", DataTable).cursor_row or 0)
            return
        chosen = [f for f in self.facts if f.id in self.shortlist]
        if not chosen:
            self.app.notify("shortlist some models first (Space)", markup=False)
            self.comparing = False
            return
        t = Table(box=None, pad_edge=False, title="Shortlist side by side", title_justify="left")
        t.add_column("")
        for f in chosen:
            t.add_column(Text(clean_line(str(f.id).split("/")[-1])))
        mems = [self.memory(f) for f in chosen]
        rows = [("params", [_num(f.params_b, "{:g}B") for f in chosen]),
                ("context", [_num(f.context_window) for f in chosen]),
                ("vocab", [_num(f.vocab_size) for f in chosen]),
                ("license", [clean_line(str(f.license or "unknown"))[:18] for f in chosen]),
                ("formats", [", ".join(f.formats or []) or "unknown" for f in chosen]),
                (f"{self.method} memory", [f"{m.total_gb:.1f} GB" if m else "unknown" for m in mems]),
                ("fits", [(m.fits or ">80 GB") if m else "–" for m in mems]),
                ("base pass", [f"{100 * self.pass_rates[f.id]:.0f}%" if f.id in self.pass_rates else "untested"
                               for f in chosen])]
        for name, values in rows:
            t.add_row(name, *values)
        self.query_one("#detail", Static).update(t)

    def action_choose(self) -> None:
        if self.focused is not None and self.focused.id == "filter":
            self.query_one("#models", DataTable).focus()
            return
        f = self._current()
        if f is None:
            return
        from ..modals.dialogs import Choice

        def answered(choice: str | None) -> None:
            if choice == "yes":
                ids = [x for x in dict.fromkeys(self.shortlist + [f.id])]
                entries = []
                from ...core.project.choose_model import candidate_entry

                for fid in ids:
                    facts = next((x for x in self.facts if x.id == fid), None)
                    if facts is not None:
                        entries.append(candidate_entry(facts, self.memory(facts), self.pass_rates.get(fid)))
                def applied(model_id: str = f.id) -> None:
                    self.chosen = model_id
                    self.refresh_table()

                # the workspace owns the buffers: it writes the choice into them and calls back once it did
                self.post_message(ModelChosen(f.id, entries, self.method, applied))

        self.app.push_screen(Choice(f"Choose {clean_line(str(f.id))} as the base model?",
                                    [("yes", "Choose it", "y"), ("no", "Not yet", "n")],
                                    "ftd.yaml's base_model and model-choice.md's front matter (chosen, method, the "
                                    "shortlisted candidates' figures) are updated by exact edits; your prose is kept."),
                             answered)

    def action_close(self) -> None:
        self.dismiss(None)
