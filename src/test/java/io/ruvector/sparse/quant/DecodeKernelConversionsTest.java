package io.ruvector.sparse.quant;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.FieldInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decode kernels on interleaved copies, and the sparse path's K-quant rows, convert vectors only in ways C2 compiles from the kernel's own
 * constants: sign-extending widenings with masks, never {@code VectorOperators.ZERO_EXTEND_*}, and conversions
 * that name their target species ({@code convertShape(op, species, part)}), never {@code convert(op, part)} or
 * {@code viewAsFloatingLanes()}, which derive it at run time. The other forms go through checks and type profiles
 * in JDK code shared by every kernel; after a prompt batch had left traps or other kernels' types there, C2 boxed
 * the decode kernels' vectors or left their operations out of line, intermittently: decode ran at two thirds of
 * its speed with 5-800 MiB allocated per token (docs/PERFORMANCE.md). That depends on JIT timing and cannot be
 * reproduced on demand in a test; the rule that avoids it can be checked in the bytecode.
 */
class DecodeKernelConversionsTest {

    private static final String VECTOR_PACKAGE = "jdk/incubator/vector/";
    private static final Set<String> SPECIES_FROM_RUN_TIME = Set.of("convert", "viewAsFloatingLanes", "viewAsIntegralLanes");

    private static final List<Class<?>> KERNELS = List.of(InterleavedQ4_0.class, InterleavedQ2_K.class, InterleavedQ3_K.class,
            InterleavedQ4_K.class, InterleavedQ5_K.class, InterleavedQ6_K.class, KQuantRowsQ8K.class,
            InterleavedKQuantColumns.class);

    @Test
    void decodeKernelsConvertWithTheirOwnConstants() throws IOException {
        for (Class<?> kernel : KERNELS) {
            assertEquals(List.of(), sharedPathConversions(kernel), kernel.getSimpleName() + " converts through shared paths");
        }
    }

    /**
     * The K-quant prompt GEMM, which runs before decoding in the same JVM, follows the same rule: its conversions
     * go through the same JDK methods, so a zero-extend or a run-time species there would put other classes and
     * traps in the profiles the decode kernels are compiled from (the first version of this GEMM zero-extended
     * bytes and converted with {@code convert(I2F, 0)}, and decoding after a prompt was boxed in some runs). The
     * GEMM is package-private in the kernels package: found by name.
     */
    @Test
    void promptKernelsConvertWithTheirOwnConstants() throws IOException, ClassNotFoundException {
        List<Class<?>> prompt = List.of(KQuantCodes.class, Class.forName("io.ruvector.sparse.kernels.KQuantTokenLanesGemm"));
        for (Class<?> kernel : prompt) {
            assertEquals(List.of(), sharedPathConversions(kernel), kernel.getSimpleName() + " converts through shared paths");
        }
    }

    @Test
    void theScanFindsBothForms() throws IOException {
        // Kernels outside the decode path still use both forms: the scan must see them, or the test above proves nothing.
        assertTrue(sharedPathConversions(Q4_1.class).stream().anyMatch(u -> u.contains("ZERO_EXTEND_")));
        assertTrue(sharedPathConversions(Q4_0.class).stream().anyMatch(u -> u.endsWith("convert()")));
    }

    /** "method: what" for each use of a zero-extending conversion or a conversion without target species in {@code type}. */
    private static List<String> sharedPathConversions(Class<?> type) throws IOException {
        byte[] bytes;
        try (InputStream in = type.getResourceAsStream(type.getSimpleName() + ".class")) {
            bytes = in.readAllBytes();
        }
        ClassModel model = ClassFile.of().parse(bytes);
        List<String> uses = new ArrayList<>();
        for (MethodModel method : model.methods()) {
            String where = method.methodName().stringValue() + ": ";
            method.code().ifPresent(code -> code.forEach(element -> {
                if (element instanceof FieldInstruction f && f.owner().asInternalName().startsWith(VECTOR_PACKAGE)
                        && f.name().stringValue().startsWith("ZERO_EXTEND_")) {
                    uses.add(where + f.name().stringValue());
                } else if (element instanceof InvokeInstruction i && i.owner().asInternalName().startsWith(VECTOR_PACKAGE)
                        && SPECIES_FROM_RUN_TIME.contains(i.name().stringValue())) {
                    uses.add(where + i.name().stringValue() + "()");
                }
            }));
        }
        return uses;
    }
}
