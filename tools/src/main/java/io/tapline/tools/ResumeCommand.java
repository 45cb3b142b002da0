package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tapline resume}: lets sources feed a volume again after a rollback paused it. */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = "Resumes a volume paused by a rollback: its source is accepted again and re-sends what the replica"
                + " no longer has, so the replica follows the primary again.")
final class ResumeCommand implements Callable<Integer> {

    @Mixin
    AdminTarget target;

    @Override
    public Integer call() throws Exception {
        return target.run(AdminRequest.RESUME, 0, "", 60_000);
    }
}
