"""grove's gdb extension: the greenlets of every hub, and their backtraces.

A suspended greenlet is invisible to a plain `bt`: only the OS thread's stack
is there. This file teaches gdb where grove keeps them, on a live process and
on a core file alike (it only reads memory and never calls into the program):

    (gdb) source /usr/share/grove/gdb/grove_gdb.py
    (gdb) grove greenlets          every greenlet of every hub: state, wait
    (gdb) grove bt 3               backtrace of greenlet #3 of that list
    (gdb) grove bt                 backtraces of all of them
    (gdb) grove select 3           then plain `bt`, `frame N`, `info locals`
                                   walk greenlet #3's stack from frame #1
    (gdb) grove select none        back to the threads' own stacks

A greenlet is named by its number in `grove greenlets`, its address (0x...),
or its name. x86-64 Linux only (the saved-context layout below).

Where things are (the C++ sources are the reference):
  - Hubs: the registry grove::detail::g_hubs (lib/util/hub_registry.cpp),
    falling back to each thread's grove::detail::t_hub.
  - Greenlets of a hub (lib/core/runtime.hpp, HubImpl): main_ (the thread's
    own stack), hub_greenlet_ (the loop), and the live list from live_head_
    through record_->live_next; current_ is the one running.
  - A greenlet's bookkeeping: GreenletBase::record_, a pointer to its
    GreenletRecord (lib/core/greenlet_record.hpp): state (New, Delayed,
    Scheduled, Ready, Begun, Dead, Notifying), parked_on (the Waiter
    it waits in; its what_ names the wait), interrupts (what it is to be
    interrupted with), ctx.fctx.
  - ctx.fctx is the saved stack pointer of a suspended greenlet; from it up
    (lib/core/context.cpp, the jump): +0x00 MXCSR/x87 control word, +0x08
    r12, +0x10 r13, +0x18 r14, +0x20 r15, +0x28 rbx, +0x30 rbp, +0x38 the
    return address; the stack pointer after the return is fctx + 0x40.
    Boost 1.74's own jump_fcontext (grove built with GROVE_BOOST_JUMP defined)
    saves the same layout.

How the backtrace is made: `grove select` (and `grove bt`, for the length of
one backtrace) arms an unwinder for the greenlet's thread. It leaves that
thread's innermost frame (#0) as it is and says that frame's caller is the
greenlet's saved context, so frames #1 and up are the greenlet's stack, read
by gdb's own DWARF unwinding from there. Registers are never written, which is
why it works on core files.
"""

import struct

import gdb
import gdb.unwinder

# The saved context (see above): register -> offset from ctx.fctx.
_SAVED = (("r12", 0x08), ("r13", 0x10), ("r14", 0x18), ("r15", 0x20), ("rbx", 0x28), ("rbp", 0x30))
_RETURN_ADDRESS = 0x38
_SP_AFTER_RETURN = 0x40
_MAX_FRAMES = 256


# --- reading the program's data -------------------------------------------------


def _std_string(value):
    """A libstdc++ std::string's text (reads memory only; no pretty printer needed)."""
    length = int(value["_M_string_length"])
    if length == 0:
        return ""
    return value["_M_dataplus"]["_M_p"].string(length=min(length, 4096), errors="replace")


def _std_vector(value):
    """The elements of a libstdc++ std::vector, as gdb.Values."""
    impl = value["_M_impl"]
    start, finish = impl["_M_start"], impl["_M_finish"]
    return [(start + i).dereference() for i in range(int(finish - start))]


def _enum_name(value):
    """'Ready' for grove::detail::GreenletState::Ready."""
    return str(value).rsplit("::", 1)[-1]


class _KeepSelection:
    """Restores the selected thread and frame level (walking other threads changes them)."""

    def __enter__(self):
        self.thread = gdb.selected_thread()
        self.level = 0
        if self.thread is not None:
            try:
                self.level = gdb.selected_frame().level()
            except gdb.error:
                pass
        return self

    def __exit__(self, *exc):
        if self.thread is not None and self.thread.is_valid():
            self.thread.switch()
            try:
                gdb.execute("frame %d" % self.level, to_string=True)
            except gdb.error:
                pass
        return False


def _symbol_value(name):
    symbol = gdb.lookup_symbol(name)[0] or gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    return symbol.value() if symbol is not None else None


class Hub:
    """One HubImpl: its address, its OS thread in gdb (None if not found)."""

    def __init__(self, impl, thread):
        self.impl = impl  # gdb.Value of type HubImpl*
        self.thread = thread

    @property
    def address(self):
        return int(self.impl)

    def label(self):
        if self.thread is None:
            return "hub 0x%x (thread not found)" % self.address
        return "hub 0x%x, thread %d (LWP %d)" % (self.address, self.thread.num, self.thread.ptid[1])


def _find_hubs():
    """Every hub of the process: the registry first, then each thread's t_hub."""
    inferior = gdb.selected_inferior()
    by_lwp = {thread.ptid[1]: thread for thread in inferior.threads()}
    hub_type = gdb.lookup_type("grove::detail::HubImpl").pointer()
    hubs, seen = [], set()
    try:
        registry = _symbol_value("grove::detail::(anonymous namespace)::g_hubs")
        entries = _std_vector(registry) if registry is not None else []
    except gdb.error:
        entries = []
    for entry in entries:
        impl = entry["hub"].cast(hub_type)
        if int(impl) and int(impl) not in seen:
            seen.add(int(impl))
            hubs.append(Hub(impl, by_lwp.get(int(entry["thread_id"]))))
    # A hub not (or no longer) registered, or a registry that is unreadable.
    with _KeepSelection():
        for thread in inferior.threads():
            thread.switch()
            try:
                impl = _symbol_value("grove::detail::t_hub")
            except gdb.error:
                continue  # TLS unreadable for this thread
            if impl is not None and int(impl) and int(impl) not in seen:
                seen.add(int(impl))
                hubs.append(Hub(impl.cast(hub_type), thread))
    return hubs


class Greenlet:
    """One greenlet as read from memory."""

    def __init__(self, number, hub, pointer, role):
        self.number = number
        self.hub = hub
        self.pointer = pointer  # gdb.Value of type GreenletBase*
        self.role = role  # "main", "hub" or "" (a spawned greenlet)
        self.state = pointer.dereference()["record_"].dereference()

    @property
    def address(self):
        return int(self.pointer)

    @property
    def fctx(self):
        """The saved context (stack pointer) while suspended, else 0."""
        return int(self.state["ctx"]["fctx"])

    def name(self):
        own = _std_string(self.state["name"])
        if own:
            return own
        if self.role == "main":
            return "MainGreenlet"
        if self.role == "hub":
            return "Hub"
        ident = int(self.state["ident"])
        return "Greenlet-%d" % ident if ident else "Greenlet"

    def target(self):
        """What it runs: the function spawn() was given, when gdb can tell."""
        if self.role:
            return ""
        try:
            obj = self.pointer.dereference()
            dynamic = obj.dynamic_type
            fields = [f.name for f in dynamic.fields()]
            if "f_" not in fields:
                return str(dynamic)
            f = obj.cast(dynamic)["f_"]
            if f.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                text = str(f)  # 0x... <function(args)>
                if "<" in text:
                    return text[text.index("<") + 1 : text.rindex(">")]
            return str(f.type.strip_typedefs())
        except (gdb.error, RuntimeError):
            return ""

    def is_current(self):
        return int(self.hub.impl["current_"]) == self.address

    def status(self):
        state = _enum_name(self.state["state"])
        if state == "New":
            return "new"
        if state in ("Delayed", "Scheduled"):
            return "scheduled"  # started, its body has not begun
        if state in ("Dead", "Notifying"):
            return "dead"
        if self.is_current():
            return "running"
        if state == "Ready":
            return "ready"
        if int(self.state["parked_on"]):
            return "waiting"
        return "suspended"

    def waits_on(self):
        """The Waiter it is parked in: its `what`, the object, timeout, woken."""
        parked = self.state["parked_on"]
        if not int(parked):
            return ""
        waiter = parked.dereference()
        if not int(waiter["what_"]):  # every Waiter has one: its stack is zeros or missing here
            return "? (its Waiter at 0x%x is not in this memory image)" % int(parked)
        what = waiter["what_"].string(errors="replace")
        text = what
        obj = int(waiter["object_"])
        if obj:
            if what == "join":  # Waiter w("join", this) in GreenletBase::join
                other = gdb.Value(obj).cast(gdb.lookup_type("grove::GreenletBase").pointer())
                try:
                    text += " %s" % Greenlet(0, self.hub, other, "").name()
                except gdb.error:
                    pass
            text += " 0x%x" % obj
        try:
            timer_type = gdb.lookup_type("grove::detail::HubTimer").pointer()
            timer = waiter["timer_"]["bytes"].address.cast(timer_type).dereference()
            if int(timer["index"]):
                text += ", with timeout"
        except gdb.error:
            pass
        if bool(waiter["woken_"]):
            text += ", woken"
        slot = self.state["interrupts"]["slot_"]
        if int(slot["error"]["_M_exception_object"]):
            text += ", kill pending" if int(slot["source"]) == 0 else ", interrupt pending"
        return text


def _greenlets():
    """Every greenlet of every hub, numbered as `grove greenlets` shows them."""
    if not gdb.selected_inferior().threads():
        raise gdb.GdbError("grove: no process: run it, attach to it (gdb -p PID) or load a core file")
    try:
        base = gdb.lookup_type("grove::GreenletBase").pointer()
        gdb.lookup_type("grove::detail::HubImpl")
    except gdb.error:
        raise gdb.GdbError("grove: no debug info for grove's types (grove::GreenletBase, grove::detail::HubImpl):"
                           " is this a grove program, with libgrove's debug info loaded?")
    found = []
    for hub in _find_hubs():
        impl = hub.impl.dereference()
        found.append(Greenlet(len(found) + 1, hub, impl["main_"].address.cast(base), "main"))
        found.append(Greenlet(len(found) + 1, hub, impl["hub_greenlet_"].address.cast(base), "hub"))
        live, node = [], impl["live_head_"]
        while int(node) and len(live) < 1_000_000:
            live.append(node)
            node = node.dereference()["record_"].dereference()["live_next"]
        for pointer in reversed(live):  # spawn order: the list is newest first
            found.append(Greenlet(len(found) + 1, hub, pointer, ""))
    return found


def _lookup(greenlets, key):
    key = key.strip()
    for g in greenlets:
        if key.isdigit() and g.number == int(key):
            return g
    if key.lower().startswith("0x"):
        for g in greenlets:
            if g.address == int(key, 16):
                return g
    for g in greenlets:
        if g.name() == key:
            return g
    raise gdb.GdbError("grove: no greenlet %r (see `grove greenlets`)" % key)


# --- the unwinder ------------------------------------------------------------


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class GreenletUnwinder(gdb.unwinder.Unwinder):
    """While a greenlet is selected: in its thread, frame #0's caller is the
    greenlet's saved context, so frames #1.. are the greenlet's stack."""

    def __init__(self):
        super().__init__("grove-greenlet")
        self.thread_num = None  # global number of the selected greenlet's thread
        self.fctx = 0

    def select(self, thread, fctx):
        self.thread_num = thread.global_num if thread is not None else None
        self.fctx = fctx
        gdb.invalidate_cached_frames()

    def clear(self):
        self.select(None, 0)

    def saved(self):
        return (self.thread_num, self.fctx)

    def restore(self, saved):
        self.thread_num, self.fctx = saved
        gdb.invalidate_cached_frames()

    def __call__(self, pending_frame):
        if not self.fctx or pending_frame.level() != 0:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.global_num != self.thread_num:
            return None
        memory = gdb.selected_inferior().read_memory(self.fctx, _SP_AFTER_RETURN)
        words = struct.unpack("<8Q", bytes(memory))
        pc = pending_frame.read_register("rip")
        sp = pending_frame.read_register("rsp")
        # Frame #0's id uses fctx, not its own sp: the greenlet's stack may lie
        # below this thread's, and gdb stops at a caller "inner" to its callee.
        info = pending_frame.create_unwind_info(_FrameId(gdb.Value(self.fctx).cast(sp.type), pc))
        info.add_saved_register("rip", gdb.Value(words[_RETURN_ADDRESS // 8]).cast(pc.type))
        info.add_saved_register("rsp", gdb.Value(self.fctx + _SP_AFTER_RETURN).cast(sp.type))
        for register, offset in _SAVED:
            kind = pending_frame.read_register(register).type
            info.add_saved_register(register, gdb.Value(words[offset // 8]).cast(kind))
        return info


_UNWINDER = GreenletUnwinder()
gdb.unwinder.register_unwinder(None, _UNWINDER, replace=True)
# Once the program runs again the saved context is stale: end a `grove select`.
gdb.events.cont.connect(lambda event: _UNWINDER.clear())
gdb.events.exited.connect(lambda event: _UNWINDER.clear())


# --- printing ----------------------------------------------------------------


def _frame_line(level, frame):
    pc = frame.pc()
    name = frame.name() or "??"
    sal = frame.find_sal()
    where = ""
    if sal.symtab is not None:
        where = " at %s:%d" % (sal.symtab.filename, sal.line)
    else:
        solib = gdb.solib_name(pc)
        if solib:
            where = " from %s" % solib
    return "#%-3d 0x%016x in %s%s" % (level, pc, name, where)


def _print_backtrace(g):
    status = g.status()
    print("greenlet #%d %s (%s) — %s%s" % (g.number, g.name(), g.target() or g.role, status,
                                           ", " + g.waits_on() if g.waits_on() else ""))
    if g.hub.thread is None:
        print("  (its thread is not in this process image)")
        return
    running = status == "running"
    if running:
        print("  running: thread %d's own stack" % g.hub.thread.num)
    elif not g.fctx:
        print("  no saved context (%s): nothing on its stack yet" % status)
        return
    if not running and not _stack_present(g.fctx):
        print("  its stack is not in this memory image (saved context at 0x%x reads as zeros or not at all);"
              " a gcore of a grove process on Linux 6.13+ loses greenlet stacks unless it ran with"
              " GROVE_NO_GUARD_INSTALL=1 (tools/gdb/README.md)" % g.fctx)
        return
    selection = _UNWINDER.saved()  # a `grove select` in force outlives this backtrace
    with _KeepSelection():
        g.hub.thread.switch()
        _UNWINDER.select(g.hub.thread, 0 if running else g.fctx)
        try:
            _print_frames(skip_innermost=not running)
        finally:
            _UNWINDER.restore(selection)


def _stack_present(fctx):
    try:
        memory = gdb.selected_inferior().read_memory(fctx + _RETURN_ADDRESS, 8)
    except gdb.MemoryError:
        return False
    return struct.unpack("<Q", bytes(memory))[0] != 0


def _print_frames(skip_innermost):
    """The selected thread's frames, innermost first, as `#N 0xPC in FUNCTION at FILE:LINE`."""
    frame, level = gdb.newest_frame(), 0
    if skip_innermost:
        frame = frame.older()  # the thread's own frame #0
    while frame is not None and frame.pc() != 0 and level < _MAX_FRAMES:
        print(_frame_line(level, frame))
        level += 1
        try:
            frame = frame.older()
        except gdb.error as error:
            print("  (unwinding stopped: %s)" % error)
            break


# --- commands ------------------------------------------------------------------


class GroveCommand(gdb.Command):
    """grove's greenlets: `grove greenlets`, `grove bt [ID]`, `grove select ID|none`."""

    def __init__(self):
        super().__init__("grove", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


class GreenletsCommand(gdb.Command):
    """List every greenlet of every hub: number, address, name, what it runs,
state (running, ready, waiting, suspended, scheduled, new) and what it waits on."""

    def __init__(self):
        super().__init__("grove greenlets", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        greenlets = _greenlets()
        if not greenlets:
            print("grove: no hub in this process (is it a grove program with its debug info?)")
            return
        hub = None
        for g in greenlets:
            if g.hub is not hub:
                hub = g.hub
                print("%s, %d live" % (hub.label(), int(hub.impl["live_count_"])))
            target = g.target()
            print("  #%-3d 0x%x %-24s %-10s %s%s" % (
                g.number, g.address, g.name() + (" [%s]" % g.role if g.role and g.name() not in ("MainGreenlet", "Hub") else ""),
                g.status(), g.waits_on() or "-", ("  runs " + target) if target else ""))


class BacktraceCommand(gdb.Command):
    """grove bt [ID]: the backtrace of a greenlet (by number, 0x address or name
from `grove greenlets`); without ID, of every one."""

    def __init__(self):
        super().__init__("grove bt", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        greenlets = _greenlets()
        chosen = [_lookup(greenlets, argument)] if argument.strip() else greenlets
        for g in chosen:
            _print_backtrace(g)
            print()


class SelectCommand(gdb.Command):
    """grove select ID: switch to the greenlet's thread and make plain `bt`,
`frame N`, `up`, `info locals` see its stack from frame #1 up (frame #0 stays
the thread's own). `grove select none` ends it."""

    def __init__(self):
        super().__init__("grove select", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        if argument.strip() in ("", "none"):
            _UNWINDER.clear()
            print("grove: no greenlet selected; frames are the threads' own")
            return
        g = _lookup(_greenlets(), argument)
        if g.hub.thread is None or not g.fctx:
            raise gdb.GdbError("grove: greenlet #%d (%s) has no saved context" % (g.number, g.status()))
        g.hub.thread.switch()
        _UNWINDER.select(g.hub.thread, g.fctx)
        print("grove: thread %d, greenlet #%d %s: frames #1 and up are its stack" % (
            g.hub.thread.num, g.number, g.name()))


GroveCommand()
GreenletsCommand()
BacktraceCommand()
SelectCommand()
