package io.ruvector.sparse.ffi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parser for the small subset of C our headers use, enough to know the ABI they promise: integer
 * {@code #define}s, {@code #ifdef}/{@code #ifndef} blocks, typedefs of scalar types, opaque and defined
 * structs, function-pointer typedefs and fields, and function prototypes. Types are reduced to what a
 * {@code FunctionDescriptor} sees on x86-64/aarch64 Linux (LP64): the size and kind of each scalar, or a
 * pointer.
 *
 * <p>Anything outside the subset (unions, arrays, bit fields, function-like macros, by-value struct
 * parameters) is rejected with a message naming the line, so the check never silently skips a declaration.
 */
final class CHeader {

    /** The ABI view of a C type. */
    sealed interface CType permits Scalar, Pointer, Struct, Void {}

    /** kind is one of i8, i16, i32, i64, f32, f64. */
    record Scalar(String kind, int size) implements CType {}

    record Pointer() implements CType {}

    record Void() implements CType {}

    /** A struct by name; its fields are in {@link CHeader#structs()} when it is defined. */
    record Struct(String name) implements CType {}

    record Field(String name, CType type, Function functionPointer) {}

    /** A prototype; for function-pointer fields and typedefs name is the field or typedef name. */
    record Function(String name, CType returnType, List<CType> parameters) {}

    /** The standard typedef names our headers may use, with their LP64 meaning. */
    private static final Map<String, CType> BUILTIN = Map.ofEntries(
            Map.entry("int8_t", new Scalar("i8", 1)), Map.entry("uint8_t", new Scalar("i8", 1)),
            Map.entry("int16_t", new Scalar("i16", 2)), Map.entry("uint16_t", new Scalar("i16", 2)),
            Map.entry("int32_t", new Scalar("i32", 4)), Map.entry("uint32_t", new Scalar("i32", 4)),
            Map.entry("int64_t", new Scalar("i64", 8)), Map.entry("uint64_t", new Scalar("i64", 8)),
            Map.entry("size_t", new Scalar("i64", 8)), Map.entry("ssize_t", new Scalar("i64", 8)),
            Map.entry("intptr_t", new Scalar("i64", 8)), Map.entry("uintptr_t", new Scalar("i64", 8)));

    private static final List<String> TYPE_KEYWORDS =
            List.of("signed", "unsigned", "short", "long", "int", "char", "float", "double", "void");

    private static final Pattern DEFINE = Pattern.compile("#\\s*define\\s+(\\w+)(.*)");
    private static final Pattern INTEGER = Pattern.compile("\\(?\\s*(-?(?:0[xX][0-9a-fA-F]+|\\d+))[uUlL]*\\s*\\)?");

    private final String source;
    private final Map<String, Long> constants = new LinkedHashMap<>();
    private final Map<String, CType> typedefs = new LinkedHashMap<>();
    private final Map<String, Function> functionPointerTypedefs = new LinkedHashMap<>();
    private final Map<String, List<Field>> structs = new LinkedHashMap<>();
    private final Map<String, Function> functions = new LinkedHashMap<>();
    private List<String> tokens;
    private int pos;

    private CHeader(String source) { this.source = source; }

    static CHeader parse(Path file) throws IOException {
        return parse(file.getFileName().toString(), Files.readString(file));
    }

    static CHeader parse(String name, String text) {
        CHeader h = new CHeader(name);
        h.tokens = tokenize(h.preprocess(stripComments(text)));
        h.pos = 0;
        while (h.pos < h.tokens.size()) h.declaration();
        return h;
    }

    /** Integer object-like macros, e.g. {@code SI_OK -> 0}. String macros are left out. */
    Map<String, Long> constants() { return constants; }

    Map<String, Function> functionPointerTypedefs() { return functionPointerTypedefs; }

    /** Defined structs in order, fields in order. Opaque structs do not appear. */
    Map<String, List<Field>> structs() { return structs; }

    Map<String, Function> functions() { return functions; }

    // ---- preprocessing

    private static String stripComments(String text) {
        return text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", "");
    }

    /** Keeps the lines the C compiler sees (with __cplusplus undefined) and records integer #defines. */
    private String preprocess(String text) {
        StringBuilder out = new StringBuilder();
        Deque<Boolean> active = new ArrayDeque<>();
        active.push(true);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            boolean on = active.peek();
            if (line.startsWith("#")) {
                String directive = line.substring(1).strip();
                String word = directive.split("\\s+", 2)[0];
                String arg = directive.length() > word.length() ? directive.substring(word.length()).strip() : "";
                switch (word) {
                    case "ifdef" -> active.push(on && isDefined(arg));
                    case "ifndef" -> active.push(on && !isDefined(arg));
                    case "else" -> { boolean was = active.pop(); active.push(active.peek() && !was); }
                    case "endif" -> active.pop();
                    case "include", "pragma" -> { }
                    case "define" -> { if (on) define(line, i + 1); }
                    default -> throw error(i + 1, "preprocessor directive #" + word + " is outside the supported C subset");
                }
                out.append('\n');
            } else {
                out.append(on ? lines[i] : "").append('\n');
            }
        }
        return out.toString();
    }

    private boolean isDefined(String name) {
        return !name.equals("__cplusplus") && (constants.containsKey(name) || definedNames.contains(name));
    }

    private final List<String> definedNames = new ArrayList<>();

    private void define(String line, int lineNo) {
        Matcher m = DEFINE.matcher(line);
        if (!m.matches()) throw error(lineNo, "malformed #define");
        String name = m.group(1);
        String value = m.group(2).strip();
        if (value.startsWith("(") && m.group(2).startsWith("(")) {
            throw error(lineNo, "function-like macro " + name + " is outside the supported C subset");
        }
        definedNames.add(name);
        Matcher num = INTEGER.matcher(value);
        if (num.matches()) constants.put(name, Long.decode(num.group(1)));
        else if (!value.isEmpty() && !value.startsWith("\"")) {
            throw error(lineNo, "#define " + name + " has a value that is neither an integer nor a string");
        }
    }

    private IllegalArgumentException error(int line, String message) {
        return new IllegalArgumentException(source + ":" + line + ": " + message);
    }

    // ---- tokens

    private static List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("[A-Za-z_]\\w*|\\d\\w*|\"(?:[^\"\\\\]|\\\\.)*\"|\\S").matcher(text);
        while (m.find()) out.add(m.group());
        return out;
    }

    private String peek() { return pos < tokens.size() ? tokens.get(pos) : "<end>"; }

    private String next() {
        if (pos >= tokens.size()) throw parseError("unexpected end of header");
        return tokens.get(pos++);
    }

    private void expect(String token) {
        String t = next();
        if (!t.equals(token)) throw parseError("expected '" + token + "' but found '" + t + "'");
    }

    private boolean accept(String token) {
        if (peek().equals(token)) { pos++; return true; }
        return false;
    }

    private IllegalArgumentException parseError(String message) {
        int from = Math.max(0, pos - 6);
        return new IllegalArgumentException(source + ": " + message + " near '"
                + String.join(" ", tokens.subList(from, Math.min(tokens.size(), pos + 3))) + "'");
    }

    // ---- declarations

    private void declaration() {
        if (accept(";")) return;
        if (peek().equals("extern") && pos + 1 < tokens.size() && tokens.get(pos + 1).startsWith("\"")) {
            throw parseError("extern \"C\" blocks belong inside #ifdef __cplusplus");
        }
        accept("extern");
        if (accept("typedef")) {
            typedef();
            return;
        }
        // A prototype: RET NAME ( PARAMS ) ;
        CType ret = specifiers();
        Declarator d = declarator(ret);
        if (d.function == null) throw parseError("only function prototypes may appear outside typedefs");
        functions.put(d.name, new Function(d.name, d.function.returnType(), d.function.parameters()));
        expect(";");
    }

    private void typedef() {
        if (peek().equals("struct") && pos + 2 < tokens.size()
                && (tokens.get(pos + 2).equals("{") || tokens.get(pos + 1).equals("{"))) {
            next();
            String tag = peek().equals("{") ? null : next();
            List<Field> fields = structBody();
            String alias = next();
            expect(";");
            structs.put(tag != null ? tag : alias, fields);
            typedefs.put(alias, new Struct(tag != null ? tag : alias));
            return;
        }
        CType base = specifiers();
        Declarator d = declarator(base);
        expect(";");
        if (d.function != null) {
            if (!d.pointerToFunction) throw parseError("typedef of a function type (not a pointer) is outside the subset");
            functionPointerTypedefs.put(d.name, new Function(d.name, d.function.returnType(), d.function.parameters()));
            typedefs.put(d.name, new Pointer());
        } else {
            typedefs.put(d.name, d.type);
        }
    }

    private List<Field> structBody() {
        expect("{");
        List<Field> fields = new ArrayList<>();
        while (!accept("}")) {
            CType base = specifiers();
            Declarator d = declarator(base);
            expect(";");
            if (d.function != null && !d.pointerToFunction) throw parseError("a struct cannot hold a function");
            Function fp = d.function == null ? null
                    : new Function(d.name, d.function.returnType(), d.function.parameters());
            fields.add(new Field(d.name, d.type, fp));
        }
        return fields;
    }

    /** Type words before a declarator: qualifiers are dropped, "struct X" and typedef names resolved. */
    private CType specifiers() {
        List<String> words = new ArrayList<>();
        while (true) {
            String t = peek();
            if (t.equals("const") || t.equals("volatile") || t.equals("restrict")) { pos++; continue; }
            if (t.equals("union") || t.equals("enum")) throw parseError(t + " is outside the supported C subset");
            if (t.equals("struct")) {
                pos++;
                String tag = next();
                if (peek().equals("{")) throw parseError("nested struct definitions are outside the subset");
                if (!words.isEmpty()) throw parseError("struct after other type words");
                skipQualifiers();
                return new Struct(tag);
            }
            if (TYPE_KEYWORDS.contains(t)) {
                words.add(t);
                pos++;
                continue;
            }
            if (words.isEmpty() && (BUILTIN.containsKey(t) || typedefs.containsKey(t))) {
                pos++;
                skipQualifiers();
                return BUILTIN.containsKey(t) ? BUILTIN.get(t) : typedefs.get(t);
            }
            break;
        }
        if (words.isEmpty()) throw parseError("unknown type '" + peek() + "'");
        return builtinScalar(words);
    }

    /** Combinations of the C type keywords, e.g. "unsigned long int", by the words' meaning (LP64). */
    private CType builtinScalar(List<String> words) {
        if (words.contains("void")) return words.size() == 1 ? new Void() : unsupported(words);
        if (words.contains("float")) return words.size() == 1 ? new Scalar("f32", 4) : unsupported(words);
        if (words.contains("double")) return words.size() == 1 ? new Scalar("f64", 8) : unsupported(words);
        if (words.contains("char")) return new Scalar("i8", 1);
        if (words.contains("short")) return new Scalar("i16", 2);
        if (words.contains("long")) return new Scalar("i64", 8);
        return new Scalar("i32", 4);
    }

    private CType unsupported(List<String> words) {
        throw parseError("unsupported type '" + String.join(" ", words) + "'");
    }

    private void skipQualifiers() {
        while (peek().equals("const") || peek().equals("volatile") || peek().equals("restrict")) pos++;
    }

    /** What a declarator declares: a name, its type, and the function shape when it is one. */
    private record Declarator(String name, CType type, Function function, boolean pointerToFunction) {}

    private Declarator declarator(CType base) {
        CType type = base;
        while (accept("*")) {
            skipQualifiers();
            type = new Pointer();
        }
        if (accept("(")) { // (*name)(params)
            expect("*");
            skipQualifiers();
            String name = identifierOrNull();
            expect(")");
            List<CType> params = parameters();
            return new Declarator(name, new Pointer(), new Function(name, type, params), true);
        }
        String name = identifierOrNull();
        if (peek().equals("[")) throw parseError("arrays are outside the supported C subset");
        if (peek().equals(":")) throw parseError("bit fields are outside the supported C subset");
        if (peek().equals("(")) return new Declarator(name, type, new Function(name, type, parameters()), false);
        return new Declarator(name, type, null, false);
    }

    private String identifierOrNull() {
        String t = peek();
        if (t.matches("[A-Za-z_]\\w*") && !BUILTIN.containsKey(t) && !TYPE_KEYWORDS.contains(t)
                && !typedefs.containsKey(t)) {
            pos++;
            return t;
        }
        return null;
    }

    private List<CType> parameters() {
        expect("(");
        List<CType> params = new ArrayList<>();
        if (peek().equals("void") && pos + 1 < tokens.size() && tokens.get(pos + 1).equals(")")) {
            pos += 2;
            return params;
        }
        if (accept(")")) throw parseError("'()' declares unknown parameters in C: write (void)");
        do {
            if (peek().equals(".")) throw parseError("variadic functions are outside the supported C subset");
            CType base = specifiers();
            Declarator d = declarator(base);
            CType t = d.function != null ? new Pointer() : d.type;
            if (t instanceof Struct) throw parseError("struct passed by value is outside the supported C subset");
            if (t instanceof Void) throw parseError("a parameter cannot be void");
            params.add(t);
        } while (accept(","));
        expect(")");
        return params;
    }
}
