package io.statefulroute.it;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/**
 * An application with nothing but auto-configuration: the starter as a user gets it.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
class TestApplication {

}
