"""The planner turns two configurations into ordered, undoable steps, without any I/O."""

from k3s_netconf.desired import App, Config, Forward, ForwardRule, Image, Port
from k3s_netconf.planning.actions import (
    ApplyApp,
    ApplyForwarding,
    DeleteApp,
    ImportImage,
    RemoveImage,
    Step,
)
from k3s_netconf.planning.planner import plan, reconcile

BUSYBOX = Image("docker.io/library/busybox:1.36", "busybox.tar")
NGINX = Image("docker.io/library/nginx:1.27", "nginx.tar")


def app(name: str, image: Image = BUSYBOX, **kwargs) -> App:
    return App(name=name, image=image.name, **kwargs)


def config(images=(), apps=(), rules=()) -> Config:
    return Config(
        images={i.name: i for i in images},
        apps={a.name: a for a in apps},
        rules={(r.protocol, r.external_port): r for r in rules},
    )


HTTP = (Port("http", 80),)
RULE = ForwardRule("tcp", 8080, "web", "http")


def test_an_unchanged_configuration_needs_no_steps():
    same = config([BUSYBOX], [app("web")])
    assert plan(same, same, {BUSYBOX.name}) == []


def test_a_new_image_and_app_are_imported_before_the_app_is_applied():
    new = config([BUSYBOX], [app("web")])
    assert plan(Config(), new, set()) == [
        Step(ImportImage(BUSYBOX), RemoveImage(BUSYBOX.name)),
        Step(ApplyApp(app("web")), DeleteApp("web")),
    ]


def test_importing_an_image_that_was_already_present_is_not_undone_by_removal():
    new = config([BUSYBOX])
    assert plan(Config(), new, {BUSYBOX.name}) == [Step(ImportImage(BUSYBOX), None)]


def test_a_configured_image_missing_from_the_runtime_is_imported_again():
    same = config([BUSYBOX])
    assert plan(same, same, set()) == [Step(ImportImage(BUSYBOX), RemoveImage(BUSYBOX.name))]


def test_a_changed_archive_is_imported_and_undone_by_importing_the_old_one():
    old, changed = config([BUSYBOX]), Image(BUSYBOX.name, "busybox-2.tar")
    assert plan(old, config([changed]), {BUSYBOX.name}) == [
        Step(ImportImage(changed), ImportImage(BUSYBOX))
    ]


def test_a_changed_app_is_applied_and_undone_by_applying_the_old_app():
    old = config([BUSYBOX], [app("web", replicas=1)])
    new = config([BUSYBOX], [app("web", replicas=2)])
    assert plan(old, new, {BUSYBOX.name}) == [
        Step(ApplyApp(app("web", replicas=2)), ApplyApp(app("web", replicas=1)))
    ]


def test_removed_apps_are_deleted_before_new_apps_are_applied_and_images_removed_last():
    old = config([BUSYBOX], [app("old")])
    new = config([NGINX], [app("new", NGINX)])
    steps = plan(old, new, {BUSYBOX.name})
    assert [s.action for s in steps] == [
        ImportImage(NGINX),
        DeleteApp("old"),
        ApplyApp(app("new", NGINX)),
        RemoveImage(BUSYBOX.name),
    ]
    assert steps[1].undo == ApplyApp(app("old"))
    assert steps[3].undo == ImportImage(BUSYBOX)


def test_disabling_an_app_is_an_apply_of_the_app_with_zero_running_replicas():
    old = config([BUSYBOX], [app("web")])
    new = config([BUSYBOX], [app("web", enabled=False)])
    (step,) = plan(old, new, {BUSYBOX.name})
    assert step.action == ApplyApp(app("web", enabled=False))
    assert step.action.app.running_replicas == 0


def test_reconcile_imports_missing_images_deletes_strays_and_applies_every_app():
    new = config([BUSYBOX, NGINX], [app("web"), app("api", NGINX)])
    steps = reconcile(new, owned_apps={"web", "stray"}, present_images={BUSYBOX.name})
    assert [s.action for s in steps] == [
        ImportImage(NGINX),
        DeleteApp("stray"),
        ApplyApp(app("web")),
        ApplyApp(app("api", NGINX)),
    ]


def test_a_new_rule_is_one_table_step_after_the_apps_undone_by_the_old_table():
    old = config([BUSYBOX], [app("web", ports=HTTP)])
    new = config([BUSYBOX], [app("web", ports=HTTP)], [RULE])
    assert plan(old, new, {BUSYBOX.name}) == [
        Step(ApplyForwarding((Forward("tcp", 8080, "web", "http", 80),)), ApplyForwarding(()))
    ]


def test_a_rule_and_its_app_added_together_forward_after_the_app_is_applied():
    new = config([BUSYBOX], [app("web", ports=HTTP)], [RULE])
    actions = [s.action for s in plan(Config(), new, set())]
    assert [type(a) for a in actions] == [ImportImage, ApplyApp, ApplyForwarding]


def test_a_changed_container_port_replaces_the_table():
    old = config([BUSYBOX], [app("web", ports=HTTP)], [RULE])
    new = config([BUSYBOX], [app("web", ports=(Port("http", 8000),))], [RULE])
    steps = plan(old, new, {BUSYBOX.name})
    assert steps[-1] == Step(
        ApplyForwarding((Forward("tcp", 8080, "web", "http", 8000),)),
        ApplyForwarding((Forward("tcp", 8080, "web", "http", 80),)),
    )


def test_changing_an_app_without_touching_its_ports_leaves_the_table_alone():
    old = config([BUSYBOX], [app("web", ports=HTTP)], [RULE])
    new = config([BUSYBOX], [app("web", ports=HTTP, replicas=2)], [RULE])
    assert [type(s.action) for s in plan(old, new, {BUSYBOX.name})] == [ApplyApp]


def test_removing_every_rule_applies_an_empty_table():
    old = config([BUSYBOX], [app("web", ports=HTTP)], [RULE])
    new = config([BUSYBOX], [app("web", ports=HTTP)])
    (step,) = plan(old, new, {BUSYBOX.name})
    assert step.action == ApplyForwarding(())
