"""Path grammar: parsing, errors, canonical text, matching and alias declarations."""

from __future__ import annotations

import pytest

from acs_engine.session.paths import Alias, PathError, alias_declarations, match, parse
from acs_engine.session.tree import DeviceTree


@pytest.mark.parametrize(
    "text", [".", "a.", ".a", "a..b", "a ", "b*", "*b", "a.b c.d", "a[", "a[b", "a[b:",
             'a[b:"waef]', "", "a.[b = ]", "a.[b > 1]", "a.[b = 1 OR c = 2]"],
)
def test_invalid_paths_are_rejected(text: str) -> None:
    with pytest.raises(PathError) as info:
        parse(text)
    assert 0 <= info.value.position <= len(text)
    assert info.value.reason


def test_error_position_points_at_the_problem() -> None:
    with pytest.raises(PathError) as info:
        parse("Device..X")
    assert info.value.position == 7
    assert info.value.reason == "empty segment"


@pytest.mark.parametrize("text", ["[]", "[a:]", "*", "Device.*.X", "X_00D09E_Foo-Bar.1"])
def test_valid_paths(text: str) -> None:
    assert parse(text) is parse(text)  # cached


def test_wildcards_and_aliases_make_patterns() -> None:
    assert not parse("Device.DeviceInfo.SoftwareVersion").is_pattern
    assert parse("Device.*.X").is_pattern
    assert parse("Device.IP.Interface.[Name:wan]").is_pattern


def test_legacy_alias_values_are_trimmed_and_first_colon_splits() -> None:
    path = parse("A.[ Key : a:b , Other: \" spaced \" ]")
    alias = path.segments[1]
    assert isinstance(alias, Alias)
    assert [(str(k), v) for k, v in alias.conditions] == [("Key", "a:b"), ("Other", " spaced ")]


def test_both_alias_syntaxes_give_the_same_path() -> None:
    legacy = parse("abc.[ abc : 123 , 123 : abc , 123: \" abc \"].123")
    modern = parse("abc.[123 = \" abc \" AND abc = 123 AND 123 = 'abc'].123")
    assert legacy == modern
    assert str(legacy) == str(modern)
    assert str(legacy) == 'abc.[123 = " abc " AND 123 = "abc" AND abc = "123"].123'
    assert parse(str(legacy)) == legacy


def test_empty_alias_means_every_instance() -> None:
    assert str(parse("A.[]")) == "A.[]"
    assert parse("A.[]").segments[1] == Alias(())


def test_expression_alias_with_nested_key_and_literals() -> None:
    path = parse("Device.WiFi.SSID.[Stats.Up = TRUE and Name = 'it''s']")
    alias = path.segments[3]
    assert isinstance(alias, Alias)
    assert [(str(k), v) for k, v in alias.conditions] == [("Name", "it's"), ("Stats.Up", "true")]


def _tree() -> DeviceTree:
    tree = DeviceTree()
    for i, (name, enabled) in enumerate([("wan", "true"), ("lan", "1"), ("guest", "false")], 1):
        tree.set_value(f"Device.IP.Interface.{i}.Name", name, "xsd:string", 1)
        tree.set_value(f"Device.IP.Interface.{i}.Enable", enabled, "xsd:boolean", 1)
        tree.set_value(f"Device.IP.Interface.{i}.Stats.Bytes", str(10 * i), "xsd:unsignedInt", 1)
    tree.set_value("Device.IP.Interface.10.Name", "x", "xsd:string", 1)
    return tree


def test_match_wildcards_in_instance_order() -> None:
    assert match("Device.IP.Interface.*.Name", _tree()) == [
        "Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name",
        "Device.IP.Interface.3.Name", "Device.IP.Interface.10.Name",
    ]
    assert match("Device.IP.Interface.*", _tree())[-1] == "Device.IP.Interface.10"
    assert match("Device.Nope.*", _tree()) == []


def test_match_aliases_compare_typed_values() -> None:
    tree = _tree()
    assert match("Device.IP.Interface.[Enable:true]", tree) == [
        "Device.IP.Interface.1", "Device.IP.Interface.2",
    ]
    assert match("Device.IP.Interface.[Enable = TRUE AND Name = 'lan'].Name", tree) == [
        "Device.IP.Interface.2.Name",
    ]
    assert match("Device.IP.Interface.[Stats.Bytes = 30]", tree) == ["Device.IP.Interface.3"]
    assert match("Device.IP.Interface.[Stats.Bytes:030]", tree) == ["Device.IP.Interface.3"]
    assert match("Device.IP.Interface.[Name:nope]", tree) == []


def test_alias_declarations_declare_keys_for_their_values() -> None:
    decs = alias_declarations("A.[B.[C:1].D:2].E", 5)
    got = [(d.path, d.path_get, d.attr_get) for d in decs]
    assert got == [
        ("A.*.E", 5, {}),
        ("A.*.B.*.D", 5, {"value": 5}),
        ("A.*.B.*.C", 5, {"value": 5}),
    ]
