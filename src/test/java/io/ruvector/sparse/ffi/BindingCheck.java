package io.ruvector.sparse.ffi;

import io.ruvector.sparse.ffi.CHeader.CType;
import io.ruvector.sparse.ffi.CHeader.Field;
import io.ruvector.sparse.ffi.CHeader.Function;
import io.ruvector.sparse.ffi.CHeader.Pointer;
import io.ruvector.sparse.ffi.CHeader.Scalar;
import io.ruvector.sparse.ffi.CHeader.Struct;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Compares the committed jextract output with a header: every function descriptor, struct layout and
 * constant the argfile asks for, and that the argfile asks for everything our own header declares.
 * Returns the differences as readable lines; empty means in step.
 */
final class BindingCheck {

    /** The parts of a jextract argfile the check needs. */
    record Argfile(String targetPackage, String headerClass, List<String> functions, List<String> constants,
                   List<String> structs, List<String> typedefs) {

        static Argfile read(Path file) throws IOException {
            String pkg = null, header = null;
            List<String> functions = new ArrayList<>(), constants = new ArrayList<>();
            List<String> structs = new ArrayList<>(), typedefs = new ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                String[] w = line.strip().split("\\s+");
                if (w.length != 2) continue;
                switch (w[0]) {
                    case "-t", "--target-package" -> pkg = w[1];
                    case "--header-class-name" -> header = w[1];
                    case "--include-function" -> functions.add(w[1]);
                    case "--include-constant" -> constants.add(w[1]);
                    case "--include-struct" -> structs.add(w[1]);
                    case "--include-typedef" -> typedefs.add(w[1]);
                    default -> { }
                }
            }
            if (pkg == null || header == null) {
                throw new IllegalArgumentException(file + ": needs --target-package and --header-class-name");
            }
            return new Argfile(pkg, header, functions, constants, structs, typedefs);
        }
    }

    private final CHeader header;
    private final Argfile args;
    private final boolean ownHeader;
    private final List<String> problems = new ArrayList<>();

    private BindingCheck(CHeader header, Argfile args, boolean ownHeader) {
        this.header = header;
        this.args = args;
        this.ownHeader = ownHeader;
    }

    /**
     * @param ownHeader true for a header that is all ours (every declaration in it must be bound); false for
     *                  one that restates a part of a system library (its constants live in system headers)
     */
    static List<String> check(CHeader header, Argfile args, boolean ownHeader) {
        BindingCheck c = new BindingCheck(header, args, ownHeader);
        c.run();
        return c.problems;
    }

    private void run() {
        if (ownHeader) requireAllBound();
        for (String f : args.functions()) checkFunction(f);
        for (String s : args.structs()) checkStruct(s);
        for (String t : args.typedefs()) checkTypedef(t);
        for (String k : args.constants()) checkConstant(k);
    }

    private void requireAllBound() {
        header.functions().keySet().stream().filter(f -> !args.functions().contains(f))
                .forEach(f -> problems.add("function " + f + " is declared but not in the argfile"));
        header.structs().keySet().stream().filter(s -> !args.structs().contains(s))
                .forEach(s -> problems.add("struct " + s + " is defined but not in the argfile"));
        header.functionPointerTypedefs().keySet().stream().filter(t -> !args.typedefs().contains(t))
                .forEach(t -> problems.add("typedef " + t + " is declared but not in the argfile"));
        header.constants().keySet().stream().filter(k -> !args.constants().contains(k))
                .forEach(k -> problems.add("constant " + k + " is defined but not in the argfile"));
    }

    private void checkFunction(String name) {
        Function proto = header.functions().get(name);
        if (proto == null) {
            problems.add("function " + name + " is in the argfile but has no prototype in the header");
            return;
        }
        Object d = callStatic(args.headerClass(), name + "$descriptor");
        if (d != null) compare("function " + name, proto, (FunctionDescriptor) d);
    }

    private void checkTypedef(String name) {
        Function proto = header.functionPointerTypedefs().get(name);
        if (proto == null) return; // scalar typedefs generate no code worth checking
        Object d = callStatic(name, "descriptor");
        if (d != null) compare("typedef " + name, proto, (FunctionDescriptor) d);
    }

    private void checkStruct(String name) {
        Object generated = callStatic(name, "layout");
        List<Field> fields = header.structs().get(name);
        if (generated == null || fields == null) {
            if (fields == null && ownHeader) problems.add("struct " + name + " is in the argfile but not defined in the header");
            return;
        }
        String expected = cLayout(name);
        String actual = javaLayout((GroupLayout) generated);
        if (!expected.equals(actual)) {
            problems.add("struct " + name + ": header has " + expected + " but the binding has " + actual);
        }
        for (Field f : fields) {
            if (f.functionPointer() == null) continue;
            Object d = callStatic(name + "$" + f.name(), "descriptor");
            if (d != null) compare(name + "." + f.name(), f.functionPointer(), (FunctionDescriptor) d);
        }
    }

    private void checkConstant(String name) {
        Object value = callStatic(args.headerClass(), name);
        if (value == null) return;
        Long expected = header.constants().get(name);
        if (expected != null && ((Number) value).longValue() != expected) {
            problems.add("constant " + name + ": header has " + expected + " but the binding has " + value);
        }
    }

    private void compare(String what, Function proto, FunctionDescriptor generated) {
        String expected = signature(proto);
        String actual = signature(generated);
        if (!expected.equals(actual)) {
            problems.add(what + ": header says " + expected + " but the binding says " + actual);
        }
    }

    private Object callStatic(String simpleClassName, String method) {
        String className = args.targetPackage() + "." + simpleClassName;
        try {
            Method m = Class.forName(className).getMethod(method);
            return m.invoke(null);
        } catch (ClassNotFoundException e) {
            problems.add("no generated class " + className + " (regenerate with jextract)");
        } catch (NoSuchMethodException e) {
            problems.add("no generated method " + className + "." + method + "() (regenerate with jextract)");
        } catch (ReflectiveOperationException e) {
            problems.add("calling " + className + "." + method + "() failed: " + e);
        }
        return null;
    }

    // ---- the common notation both sides are reduced to, e.g. "i32(ptr, i64)"

    static String signature(Function f) {
        return kind(f.returnType()) + f.parameters().stream().map(BindingCheck::kind)
                .collect(Collectors.joining(", ", "(", ")"));
    }

    static String signature(FunctionDescriptor d) {
        return d.returnLayout().map(BindingCheck::kind).orElse("void") + d.argumentLayouts().stream()
                .map(BindingCheck::kind).collect(Collectors.joining(", ", "(", ")"));
    }

    private static String kind(CType t) {
        return switch (t) {
            case Scalar s -> s.kind();
            case Pointer p -> "ptr";
            case Struct s -> "struct " + s.name();
            case CHeader.Void v -> "void";
        };
    }

    private static String kind(MemoryLayout l) {
        if (l instanceof AddressLayout) return "ptr";
        if (l instanceof GroupLayout g) return "struct " + g.name().orElse("?");
        if (l instanceof ValueLayout v) {
            Class<?> c = v.carrier();
            if (c == byte.class || c == boolean.class) return "i8";
            if (c == short.class || c == char.class) return "i16";
            if (c == int.class) return "i32";
            if (c == long.class) return "i64";
            if (c == float.class) return "f32";
            if (c == double.class) return "f64";
        }
        return l.toString();
    }

    /** "{name@offset:kind, ...} size N" from the C rules for natural alignment. */
    private String cLayout(String struct) {
        List<String> parts = new ArrayList<>();
        long offset = 0, align = 1;
        for (Field f : header.structs().get(struct)) {
            long size = sizeOf(f.type()), a = alignOf(f.type());
            offset = (offset + a - 1) / a * a;
            parts.add(f.name() + "@" + offset + ":" + kind(f.type()));
            offset += size;
            align = Math.max(align, a);
        }
        long size = (offset + align - 1) / align * align;
        return "{" + String.join(", ", parts) + "} size " + size;
    }

    private static String javaLayout(GroupLayout g) {
        List<String> parts = new ArrayList<>();
        long offset = 0;
        for (MemoryLayout m : g.memberLayouts()) {
            if (!(m instanceof PaddingLayout)) parts.add(m.name().orElse("?") + "@" + offset + ":" + kind(m));
            offset += m.byteSize();
        }
        return "{" + String.join(", ", parts) + "} size " + g.byteSize();
    }

    private long sizeOf(CType t) {
        return switch (t) {
            case Scalar s -> s.size();
            case Pointer p -> 8;
            case Struct s -> structSize(s.name());
            case CHeader.Void v -> throw new IllegalArgumentException("void field");
        };
    }

    private long alignOf(CType t) {
        if (t instanceof Struct s) {
            return requireStruct(s.name()).stream().mapToLong(f -> alignOf(f.type())).max().orElse(1);
        }
        return sizeOf(t);
    }

    private long structSize(String name) {
        long offset = 0, align = 1;
        for (Field f : requireStruct(name)) {
            long a = alignOf(f.type());
            offset = (offset + a - 1) / a * a + sizeOf(f.type());
            align = Math.max(align, a);
        }
        return (offset + align - 1) / align * align;
    }

    private List<Field> requireStruct(String name) {
        List<Field> fields = header.structs().get(name);
        if (fields == null) throw new IllegalArgumentException("struct " + name + " is used by value but not defined");
        return fields;
    }
}
