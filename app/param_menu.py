"""The parameter tree's context menu: edit (or why not), instances, read, copy.

Built, not shown, so tests can inspect it; the device view pops it up.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QTreeView

from acs_engine.admin.commands import AddInstance, DeleteInstance, RefreshSubtree
from app.params_model import ParamTreeModel, is_secret

Stage = Callable[[AddInstance | DeleteInstance | RefreshSubtree], None]


def param_menu(
    tree: QTreeView, model: ParamTreeModel, stage: Stage, path: str,
    index: QModelIndex | None = None,
) -> QMenu:
    """The context menu for ``path`` of ``tree`` (whose source model is ``model``).

    A value that cannot be edited says why in the disabled "Edit value" entry; a value never
    read offers "Read value".
    """
    menu = QMenu(tree)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    param = model.param(path)
    if not path.endswith(".") and index is not None:
        problem = model.edit_problem(path)
        edit = menu.addAction("Edit value…" if problem is None else f"Edit value: {problem}")
        edit.setEnabled(problem is None)
        value_index = index.siblingAtColumn(ParamTreeModel.VALUE)
        edit.triggered.connect(lambda: tree.edit(value_index))
    if model.is_table(path):
        add = menu.addAction(f"Add instance to {path}")
        add.setEnabled(model.can_add_instance(path))
        add.triggered.connect(lambda: stage(AddInstance(path)))
    if path.endswith(".") and path.rstrip(".").rsplit(".", 1)[-1].isdigit():
        delete = menu.addAction(f"Delete instance {path}")
        delete.setEnabled(model.can_delete_instance(path))
        delete.triggered.connect(lambda: stage(DeleteInstance(path)))
    refresh = menu.addAction(
        "Refresh subtree" if path.endswith(".")
        else "Read value" if model.never_read(path) else "Refresh value"
    )
    refresh.triggered.connect(lambda: stage(RefreshSubtree(path)))
    menu.addSeparator()
    copy_path = QAction("Copy path", menu)
    copy_path.triggered.connect(lambda: QGuiApplication.clipboard().setText(path))
    menu.addAction(copy_path)
    if param is not None and param.value is not None and not is_secret(path):
        value = param.value
        copy_value = menu.addAction("Copy value")
        copy_value.triggered.connect(lambda: QGuiApplication.clipboard().setText(value))
    return menu
