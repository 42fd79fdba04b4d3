"""A repository rule that wraps Debian's system libraries for Bazel.

system_libraries(name, libraries = {target: [pkg-config modules]}) runs
pkg-config once at fetch time and writes one cc_library per target that
carries the modules' defines and link flags. Headers live in /usr/include,
which the auto-configured toolchain already searches, so -I flags are
dropped.
"""

def _pkg_config(ctx, modules, what):
    result = ctx.execute(["pkg-config", what] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run tools/setup.sh): %s" %
             (what, " ".join(modules), result.stderr))
    return result.stdout.strip().split(" ")

def _library_rule(ctx, name, modules):
    defines = []
    for flag in _pkg_config(ctx, modules, "--cflags"):
        if flag.startswith("-D"):
            defines.append(flag[2:])
    linkopts = [f for f in _pkg_config(ctx, modules, "--libs") if f]
    return """cc_library(
    name = "{name}",
    defines = {defines},
    linkopts = {linkopts},
)
""".format(name = name, defines = repr(defines), linkopts = repr(linkopts))

def _system_libraries_impl(ctx):
    rules = ['package(default_visibility = ["//visibility:public"])\n']
    for name, modules in ctx.attr.libraries.items():
        rules.append(_library_rule(ctx, name, modules))
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(rules))

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {"libraries": attr.string_list_dict(mandatory = True)},
    local = True,
)
