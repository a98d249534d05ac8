package dev.andromeda.fibril;

import dev.andromeda.common.boot.M31Service;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The nucleus of one node: runs fibrils on Rhino continuations. */
@SpringBootApplication
public class FibrilServiceApplication {

    /** Also the name of its config file ({@code fibril-service.yml}): see {@link M31Service}. */
    public static final String NAME = "fibril-service";

    public static void main(String[] args) {
        M31Service.run(FibrilServiceApplication.class, NAME, args);
    }
}
