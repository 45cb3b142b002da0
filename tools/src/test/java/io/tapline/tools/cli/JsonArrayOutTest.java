package io.tapline.tools.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A streamed array reads as {@link Json#write} wrote the whole list, and leaves its stream open. */
class JsonArrayOutTest {
    private static String streamed(List<?> elements) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (JsonArrayOut array = new JsonArrayOut(out)) {
            elements.forEach(array::add);
        }
        out.print("still open");
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void sameTextAsTheWholeList() throws Exception {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("index", 1);
        a.put("who", "nbd a -> b");
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("index", 2);
        b.put("detail", "x,\"y\"");
        assertEquals(Json.write(List.of(a, b)) + System.lineSeparator() + "still open", streamed(List.of(a, b)));
        assertEquals(Json.write(List.of()) + System.lineSeparator() + "still open", streamed(List.of()));
    }
}
