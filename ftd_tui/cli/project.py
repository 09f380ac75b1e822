"""The project a command works on, opened the one way every command opens it: a project that
cannot be loaded exits 2, an ftd.yaml that cannot be read exits 1, and the session (the user
config's models over ftd.yaml's) is the one the app would build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import EXIT_FINDINGS, CommandError

if TYPE_CHECKING:
    from ..core.project.project import Project
    from ..core.rules.checks import CheckResult
    from ..services.session import ProjectSession


def load_project(dir_arg: str) -> Project:
    from ..core.project.project import Project, ProjectError

    try:
        return Project.load(dir_arg)
    except ProjectError as exc:
        raise CommandError(str(exc)) from None


def analyse(dir_arg: str) -> tuple[Project, CheckResult, list]:
    """The project, every rule's findings and the gates."""
    from ..core.rules.checks import check_project
    from ..core.rules.gates import compute_gates

    project = load_project(dir_arg)
    result = check_project(project)
    return project, result, compute_gates(project, result)


def settings_of(dir_arg: str) -> tuple[Project, dict]:
    """The project and ftd.yaml's data; a command that calls models needs it readable."""
    project = load_project(dir_arg)
    lf = project.files["settings"]
    if not lf.readable or not isinstance(lf.data, dict):
        raise CommandError(f"{project.root / 'ftd.yaml'} cannot be read; run ftd check", EXIT_FINDINGS)
    return project, lf.data


def session_of(project: Project) -> ProjectSession:
    from ..services.session import ProjectSession

    return ProjectSession.from_user_config(project.root)


def effective(dir_arg: str) -> tuple[Project, ProjectSession, dict, dict]:
    """(project, session, the roles in force, ftd.yaml's data)."""
    project, project_settings = settings_of(dir_arg)
    session = session_of(project)
    settings, _ = session.effective_settings(project_settings)
    return project, session, settings, project_settings
