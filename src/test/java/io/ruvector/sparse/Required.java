package io.ruvector.sparse;

import org.junit.jupiter.api.Assumptions;

/**
 * What a test needs from its environment (test data, a compiler, an operating-system feature) and what happens
 * when it is not there: outside CI the test is skipped, with the reason printed as well as recorded, so a skip
 * is never silent; under CI ({@code CI=true}) it fails, because CI is set up with everything the project
 * documents as required and a skip there would hide a test that no longer runs.
 *
 * <p>Only for things a developer's machine may legitimately lack. A test that does not apply to the machine at
 * all (a layout that assumes 4 KiB pages on a 64 KiB-page kernel) says so with {@link #notApplicable}.
 */
public final class Required {

    private Required() {}

    /** True when running under CI ({@code CI=true}), where nothing the project requires may be missing. */
    public static boolean underCi() { return "true".equalsIgnoreCase(System.getenv("CI")); }

    /** Skips the calling test outside CI, fails it under CI: {@code what} is missing. */
    public static void missing(String what) {
        if (underCi()) throw new AssertionError(what + " (CI=true, where it is required)");
        System.err.println("SKIPPED: " + what);
        Assumptions.abort(what);
    }

    /** {@link #missing} unless {@code present}. */
    public static void that(boolean present, String what) {
        if (!present) missing(what);
    }

    /**
     * Skips the calling test everywhere, CI included, with the reason printed: the test does not apply to this
     * machine (not a missing tool or file, but a property such as the page size).
     */
    public static void notApplicable(boolean applies, String why) {
        if (applies) return;
        System.err.println("SKIPPED (not applicable here): " + why);
        Assumptions.abort(why);
    }
}
