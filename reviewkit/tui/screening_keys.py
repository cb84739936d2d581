"""Provides the screening screen's keys and the checks on a user's remapping of them ([keys] in the user config)."""

from __future__ import annotations

import unicodedata

from textual.binding import Binding, BindingType
from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, Keys

from reviewkit.config import UserConfig

#: Each binding's id is the action name a user remaps in the user config: [keys] include = "y".
SCREENING_BINDINGS: list[BindingType] = [
    Binding("i", "decide('include')", "Include", id="include"),
    Binding("e", "decide('exclude')", "Exclude", id="exclude"),
    Binding("m", "decide('maybe')", "Maybe", id="maybe"),
    Binding("u", "undo", "Undo", id="undo"),
    Binding("n", "note", "Note", id="note"),
    # Moving, searching, the criteria and leaving are left out of the footer (? lists every key):
    # with them it was cut at 80 columns before Help and Quit.
    Binding("j,down", "next", "Next", id="next", show=False),
    Binding("k,up", "previous", "Previous", id="previous", show=False),
    Binding("slash", "search", "Search", key_display="/", id="search", show=False),
    Binding("t", "toggle_criteria", "Criteria", id="criteria", show=False),
    Binding("o", "open_full_text", "Open", id="open_full_text"),
    Binding("f", "full_text_status", "Full text", id="full_text_status"),
    Binding("pagedown", "scroll_card(1)", "Scroll down", show=False),
    Binding("pageup", "scroll_card(-1)", "Scroll up", show=False),
    Binding("escape", "back", "Dashboard", id="back", show=False),
]


def user_keymap(config: UserConfig, reserved: dict[str, str]) -> tuple[dict[str, str], str | None, str | None]:
    """The keymap that applies from [keys] in the user config (`reserved` as checked_keymap takes it),
    a warning naming the [keys] refused, and an error naming the actions the keymap leaves without a
    key (keymap_clashes); None when there is nothing to say."""
    keymap, refused = checked_keymap(config.keys, reserved)
    where = str(config.path) if config.path else "your user config"
    warning = f"{where}: [keys] ignored, default keys kept: {' · '.join(refused)}" if refused else None
    lost = keymap_clashes(keymap)
    error = f"[keys] in {where} takes keys the screen uses: {'; '.join(lost)}" if lost else None
    return keymap, warning, error


def checked_keymap(keys: dict[str, str], reserved: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The user's [keys] that can apply, in Textual's key names ("?" → question_mark), and why each of the
    others is refused: no such action on this screen (a typo was ignored silently), no key, or a key the
    app answers on every screen (`reserved`: the screen's binding would take q from Quit or ? from Help
    without a word). A refused action keeps its default key."""
    actions = {b.id: b for b in SCREENING_BINDINGS if isinstance(b, Binding) and b.id}
    keymap: dict[str, str] = {}
    refused: list[str] = []
    #: The keys given so far in [keys], with the action each went to.
    given: dict[str, Binding] = {}
    for action, value in keys.items():
        binding = actions.get(action)
        if binding is None:
            refused.append(f'{action} = "{value}": no such action (the actions: {", ".join(actions)})')
            continue
        # As Textual reads a BINDINGS key: its keymap takes "?" as is, a key no key press ever matches.
        typed = [k.strip() for k in value.split(",") if k.strip()]
        wanted = textual_key_names(typed)
        own = {k.strip() for k in binding.key.split(",")}
        taken = [f"{t} is the app's key for {reserved[k]}" for t, k in zip(typed, wanted, strict=True)
                 if k in reserved and k not in own]
        # include = "y" and exclude = "y": Textual's keymap gave y to one of them and dropped the other's
        # binding without a word (Exclude left the footer and no key excluded).
        taken += [f"{t} is already {given[k].description}'s key in [keys]" for t, k in zip(typed, wanted, strict=True)
                  if k in given and given[k] is not binding]
        unknown = [t for t, k in zip(typed, wanted, strict=True) if not is_key_name(k)]
        if not wanted or taken or unknown:
            why = ("; ".join(taken) if taken else "no key given" if not wanted
                   else f"no such key {', '.join(repr(u) + _instead(u) for u in unknown)} ({_KEY_FORMS})")
            refused.append(f'{action} = "{value}": {why}; {binding.description} keeps {binding.key_display or binding.key}')
            continue
        keymap[action] = ",".join(wanted)
        given.update(dict.fromkeys(wanted, binding))
    return keymap, refused


def _instead(key: str) -> str:
    """What to write for a letter with modifiers no key press is named by: a terminal sends shift+y as
    "Y", and ctrl with shift+y as "ctrl+shift+y" (never "ctrl+Y"); Textual names modifiers and named keys
    in lower case, so "Ctrl+x" or "PageDown" is written "ctrl+x", "pagedown"."""
    *modifiers, base = key.split("+")
    # A single character keeps its case: "Ctrl+X" is ctrl with a capital, which the rules below then name.
    lowered = "+".join([*(m.lower() for m in modifiers), base if len(base) == 1 else base.lower()])
    if lowered != key:
        named = textual_key_names([lowered])
        return _instead(lowered) or (f' (write "{lowered}")' if named and is_key_name(named[0]) else "")
    if len(base) != 1 or not base.isalpha():
        return ""
    if modifiers == ["shift"]:
        return f' (write "{base.upper()}")'
    if modifiers and base.isupper():
        return f' (write "{"+".join([*modifiers, "shift", base.lower()])}")'
    return ""


#: What a refused key name is told to look like.
_KEY_FORMS = "a key is one character, or a name such as enter, space, up, pagedown or f1, with ctrl+, shift+ or alt+ before it"
_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
#: The named keys Textual sends (enter, pagedown, f5...), without their modifiers.
_NAMED_KEYS = frozenset({k.value.rpartition("+")[2] for k in Keys}
                        | {alias for aliases in KEY_ALIASES.values() for alias in aliases}
                        | set(KEY_NAME_REPLACEMENTS.values()))


def is_key_name(key: str) -> bool:
    """Whether a key press can ever match `key` (as Textual names it): modifiers Textual knows, then one
    character, a named key or a character's Unicode name ("full_stop"). A binding to anything else
    ("yes", "spacebar", "ctl+y") is accepted by Textual and simply never fires."""
    *modifiers, base = key.split("+")
    if not base or not set(modifiers) <= _MODIFIERS:
        return False
    # A terminal sends shift with a letter as the capital ("Y"), and names a letter with other
    # modifiers in lower case (ctrl+shift+y): "shift+y" and "ctrl+Y" were accepted and never fired.
    if len(base) == 1 and base.isalpha() and (modifiers == ["shift"] or (modifiers and base.isupper())):
        return False
    if len(base) == 1 or base in _NAMED_KEYS:
        return True
    try:
        unicodedata.lookup(base.replace("_", " "))
    except KeyError:
        return False
    return True


def textual_key_names(typed: list[str]) -> list[str]:
    """The keys as Textual names them in a binding ("?" → "question_mark", "+" → "plus"), through
    Textual's public `Binding.make_bindings`, which splits and normalises a binding's key list."""
    if not typed:
        return []
    return [b.key for b in Binding.make_bindings([Binding(",".join(typed), "noop")])]


def keymap_clashes(keys: dict[str, str]) -> list[str]:
    """Screen actions whose keys a user's remapping takes: "Exclude (e)" when it takes every key of the
    action, "Next loses j (still on down)" when the action keeps another.

    Textual's keymap drops a taken key from the binding silently (its other keys still work), so the
    screen says which keys went.
    """
    taken = {k.strip() for action, value in keys.items() for k in value.split(",")
             if any(isinstance(b, Binding) and b.id == action for b in SCREENING_BINDINGS)}
    clashes = []
    # A binding without an id (scrolling) cannot be remapped back, so it counts too.
    for b in SCREENING_BINDINGS:
        if not isinstance(b, Binding) or b.id in keys:
            continue
        own = [k.strip() for k in b.key.split(",")]
        lost = [k for k in own if k in taken]
        kept = [k for k in own if k not in taken]
        if lost and kept:
            clashes.append(f"{b.description} loses {', '.join(lost)} (still on {', '.join(kept)})")
        elif lost:
            clashes.append(f"{b.description} ({b.key})")
    return clashes
