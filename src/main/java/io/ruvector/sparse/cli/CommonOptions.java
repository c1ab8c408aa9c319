package io.ruvector.sparse.cli;

import picocli.CommandLine.Option;

/**
 * Options every command shares; add with {@code @Mixin CommonOptions common;}. {@link Main}'s error
 * handler looks for {@code --verbose} on the command line to decide whether to print the stack trace.
 */
public final class CommonOptions {

    @Option(names = "--verbose", description = "show stack traces on errors")
    boolean verbose;

    public boolean verbose() { return verbose; }
}
