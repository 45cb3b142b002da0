package io.tapline.tools.cli;

import java.lang.reflect.Constructor;
import picocli.CommandLine;

/**
 * Makes the CLI's commands, mixins, converters and providers for picocli, as its default factory
 * does for a class (its no-argument constructor, private or not), without that factory's one cost:
 * on first use it looks for Groovy's {@code Closure} class, a lookup that misses, and a class lookup
 * that misses opens every jar of the class path (47, about 30 ms of each quick command's start;
 * docs/benchmarks.md#cli-class-path-walks). Interfaces (a collection an option fills) still go to
 * picocli's default factory, which knows which implementation each wants.
 */
public final class CommandFactory implements CommandLine.IFactory {
    @Override
    public <K> K create(Class<K> type) throws Exception {
        if (type.isInterface()) {
            return CommandLine.defaultFactory().create(type);
        }
        Constructor<K> constructor = type.getDeclaredConstructor();
        constructor.setAccessible(true);
        return constructor.newInstance();
    }
}
