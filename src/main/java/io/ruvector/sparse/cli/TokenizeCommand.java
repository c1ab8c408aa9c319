package io.ruvector.sparse.cli;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer tokenize}: prints the token ids of a text, like llama.cpp's {@code llama-tokenize}.
 * Reads only the GGUF metadata, so vocabulary-only files work.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of a text (from --text, --file or standard input).")
public final class TokenizeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF file (weights not needed)")
    private Path model;

    @Option(names = {"-p", "--text", "--prompt"}, paramLabel = "TEXT", description = "text to tokenize; default: standard input")
    private String text;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "read the text from a file (UTF-8)")
    private Path file;

    @Option(names = "--no-bos", description = "do not add BOS (or EOS) even if the model asks for it")
    private boolean noBos;

    @Option(names = "--no-parse-special", description = "treat special-token text such as <|im_end|> as plain text")
    private boolean noParseSpecial;

    @Option(names = "--show-pieces", description = "print one 'id -> piece' line per token instead of the id list")
    private boolean showPieces;

    @Option(names = "--verbose", description = "show stack traces on errors")
    private boolean verbose;

    @Override
    public Integer call() throws IOException {
        if (text != null && file != null) {
            throw new IllegalArgumentException("give the text with --text or --file, not both");
        }
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        Tokenizer tokenizer;
        try (GgufFile gguf = GgufFile.open(model)) {
            tokenizer = Tokenizer.fromGguf(gguf);
        }
        String input = text != null ? text
                : file != null ? Files.readString(file, StandardCharsets.UTF_8)
                : readStdin(System.in);
        // Like llama-tokenize: BOS (and EOS, for models that want it) unless --no-bos; specials parsed.
        boolean addSpecial = !noBos;
        int[] ids = tokenizer.encode(input, addSpecial && tokenizer.addBosByDefault(),
                addSpecial && tokenizer.addEosByDefault(), !noParseSpecial);

        PrintWriter out = spec.commandLine().getOut();
        if (showPieces) {
            for (int id : ids) out.printf("%6d -> '%s'%n", id, tokenizer.tokenPiece(id));
        } else {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < ids.length; i++) {
                if (i > 0) sb.append(", ");
                sb.append(ids[i]);
            }
            out.println(sb.append(']'));
        }
        out.flush();
        return 0;
    }

    private static String readStdin(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
