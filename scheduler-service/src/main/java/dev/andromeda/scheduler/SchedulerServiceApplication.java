package dev.andromeda.scheduler;

import dev.andromeda.common.boot.M31Service;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Where things run: node registry, heartbeats, placement, user spawns. */
@SpringBootApplication
public class SchedulerServiceApplication {

    /** Also the name of its config file ({@code scheduler-service.yml}): see {@link M31Service}. */
    public static final String NAME = "scheduler-service";

    public static void main(String[] args) {
        M31Service.run(SchedulerServiceApplication.class, NAME, args);
    }
}
