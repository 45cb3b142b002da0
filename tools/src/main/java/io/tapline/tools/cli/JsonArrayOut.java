package io.tapline.tools.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SequenceWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * A JSON array written to a stream element by element, as {@link Json#write} would write the
 * whole list: for output as long as a volume's audit log, which must not be held in memory first.
 * Closing ends the array and the line; the stream stays open.
 */
public final class JsonArrayOut implements AutoCloseable {
    private final PrintStream out;
    private final SequenceWriter writer;

    public JsonArrayOut(PrintStream out) throws IOException {
        this.out = out;
        this.writer = Json.mapper().writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET).writeValuesAsArray(out);
    }

    /** Writes one element (maps, lists, records). */
    public void add(Object element) {
        try {
            writer.write(element);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        writer.close();
        out.println();
    }
}
