package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --sparse --sparse-lock-hot --sparse-retier} under an RLIMIT_MEMLOCK that holds one hot tier but
 * not two, without CAP_IPC_LOCK (prlimit and setpriv, as root): every re-tiered hot set must end up locked, since
 * the old one is unlocked first, and the CLI says so. Skipped where the tools or root are missing, except under
 * {@code CI=true}.
 */
class MemlockLimitTest {

    @TempDir
    Path dir;

    @Test
    void reTieredHotRowsStayLockedUnderALimitSizedForOneTier() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        List<String> limited = List.of("prlimit", "--memlock=200000:200000",
                "setpriv", "--inh-caps=-ipc_lock", "--ambient-caps=-ipc_lock", "--bounding-set=-ipc_lock");
        String unavailable = null;
        try {
            ChildCli.Result probe = ChildCli.exec(concat(limited, "true"));
            if (probe.code() != 0) unavailable = "cannot lower RLIMIT_MEMLOCK and drop CAP_IPC_LOCK (needs root): " + probe.err().strip();
        } catch (java.io.IOException e) {
            unavailable = "prlimit(1) or setpriv(1) is not available: " + e.getMessage();
        }
        ChildCli.require(unavailable);
        Path sidecar = ChildCli.storiesSidecar(model, dir);
        // The default hot tier of stories260K is 132 KiB: one fits in 195 KiB, two do not.
        ChildCli.Result r = ChildCli.run(limited, "generate", "-m", model.toString(), "--sparse", sidecar.toString(),
                "--sparse-lock-hot", "--sparse-retier", "64", "-p", "Once", "-n", "300", "--temp", "0", "-t", "2");
        assertEquals(0, r.code(), r.err());
        List<String> hot = r.err().lines().filter(l -> l.startsWith("hot rows")).toList();
        assertEquals(2, hot.size(), "before and after re-tiering:\n" + r.err());
        assertTrue(hot.get(0).contains(": locked"), hot.get(0));
        assertTrue(hot.get(1).contains("re-tiering") && hot.get(1).contains(": locked"),
                "the last re-tiered set is locked too: " + hot.get(1));
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.add(b);
        return all;
    }
}
