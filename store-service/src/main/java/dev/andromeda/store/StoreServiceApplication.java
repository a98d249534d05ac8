package dev.andromeda.store;

import dev.andromeda.common.boot.M31Service;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The flat labeled store (/fs) and content-addressed code (/code). */
@SpringBootApplication
public class StoreServiceApplication {

    /** Also the name of its config file ({@code store-service.yml}): see {@link M31Service}. */
    public static final String NAME = "store-service";

    public static void main(String[] args) {
        M31Service.run(StoreServiceApplication.class, NAME, args);
    }
}
