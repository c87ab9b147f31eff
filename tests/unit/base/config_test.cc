#include "base/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/file.h"

namespace socle {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("socle-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string p = (dir_ / "socle.toml").string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, DefaultsWithoutSources) {
  ConfigSources s;
  s.config_file = write("");
  Result<Config> c = load_config(s);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_FALSE(c->metrics_public);
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlags) {
  ConfigSources s;
  s.config_file = write(
      "listen = \"127.0.0.1:1111\"\ndata = \"/from/file\"\n[http]\nmax_body_bytes = 1000\n"
      "[metrics]\npublic = true\n");
  Result<Config> c = load_config(s);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->listen, "127.0.0.1:1111");
  EXPECT_EQ(c->http_max_body_bytes, 1000);
  EXPECT_TRUE(c->metrics_public);

  s.env = {{"SOCLE_LISTEN", "127.0.0.1:2222"},
           {"SOCLE_HTTP_MAX_BODY_BYTES", "2000"},
           {"SOCLE_DATA", "/from/env"}};
  c = load_config(s);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->listen, "127.0.0.1:2222");
  EXPECT_EQ(c->http_max_body_bytes, 2000);
  EXPECT_EQ(c->data_dir, "/from/env");

  s.flags = {{"listen", "127.0.0.1:3333"}};
  c = load_config(s);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->listen, "127.0.0.1:3333");
  EXPECT_EQ(c->data_dir, "/from/env");
}

TEST_F(ConfigTest, ConfigPathFromEnvironment) {
  ConfigSources s;
  s.env = {{"SOCLE_CONFIG", write("io_threads = 3\n")}};
  Result<Config> c = load_config(s);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->io_threads, 3);
}

TEST_F(ConfigTest, BadValuesAreRefusedWithTheirSource) {
  ConfigSources s;
  s.config_file = write("[http]\nmax_body_byts = 5\n");
  Result<Config> c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("unknown option 'http.max_body_byts'"), std::string::npos);

  s.config_file = write("io_threads = -1\n");
  EXPECT_FALSE(load_config(s).is_ok());
  s.config_file = write("listen = [1,2]\n");
  EXPECT_FALSE(load_config(s).is_ok());
  s.config_file = write("this is not toml");
  c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find(":1:"), std::string::npos) << c.status().message();

  s.config_file = write("");
  s.env = {{"SOCLE_METRICS_PUBLIC", "maybe"}};
  c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("SOCLE_METRICS_PUBLIC"), std::string::npos);

  s.env = {};
  s.config_file = (dir_ / "missing.toml").string();
  EXPECT_FALSE(load_config(s).is_ok());
}

// The file's values keep their TOML type: nothing is turned into text and parsed again.
TEST_F(ConfigTest, FileValuesOfTheWrongTypeAreRefused) {
  struct Case {
    const char* toml;
    const char* key;
    const char* found;
    const char* expected;
  };
  const Case cases[] = {
      {"io_threads = \"4\"\n", "io_threads", "a string", "an integer"},
      {"io_threads = 2.0\n", "io_threads", "a floating-point number", "an integer"},
      {"[metrics]\npublic = 1\n", "metrics.public", "an integer", "a boolean"},
      {"[metrics]\npublic = \"true\"\n", "metrics.public", "a string", "a boolean"},
      {"data = 5\n", "data", "an integer", "a string"},
      {"[energy]\npue = \"1.5\"\n", "energy.pue", "a string", "a number"},
      {"[energy]\npue = true\n", "energy.pue", "a boolean", "a number"},
      {"listen = 1979-05-27\n", "listen", "a date", "a string"},
  };
  for (const Case& c : cases) {
    ConfigSources s;
    s.config_file = write(c.toml);
    Result<Config> r = load_config(s);
    ASSERT_FALSE(r.is_ok()) << c.toml;
    const std::string& m = r.status().message();
    EXPECT_NE(m.find(s.config_file), std::string::npos) << m;
    EXPECT_NE(m.find(std::string(c.key) + " must be"), std::string::npos) << m;
    EXPECT_NE(m.find(c.found), std::string::npos) << m;
    EXPECT_NE(m.find(c.expected), std::string::npos) << m;
  }
}

TEST_F(ConfigTest, NumbersAcceptTomlIntegersAndFloats) {
  ConfigSources s;
  s.config_file = write("[energy]\npue = 2\ngrid_gco2_per_kwh = 30.5\n");
  Result<Config> c = load_config(s);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->energy_pue, 2.0);
  EXPECT_EQ(c->energy_grid_gco2_per_kwh, 30.5);
}

TEST_F(ConfigTest, EnvironmentValuesStayText) {
  ConfigSources s;
  s.config_file = write("");
  s.env = {{"SOCLE_IO_THREADS", "4"}, {"SOCLE_METRICS_PUBLIC", "1"}, {"SOCLE_ENERGY_PUE", "2"}};
  Result<Config> c = load_config(s);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->io_threads, 4);
  EXPECT_TRUE(c->metrics_public);
  EXPECT_EQ(c->energy_pue, 2.0);
}

TEST_F(ConfigTest, ArraysAndTablesForAScalarNameTheFile) {
  ConfigSources s;
  s.config_file = write("listen = [1, 2]\n");
  Result<Config> c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  std::string m = c.status().message();
  EXPECT_NE(m.find(s.config_file), std::string::npos) << m;
  EXPECT_NE(m.find("listen must be a string"), std::string::npos) << m;
  EXPECT_NE(m.find("an array"), std::string::npos) << m;

  // A table where a value belongs makes dotted keys that no option has.
  s.config_file = write("[listen]\nhost = \"x\"\n");
  c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  m = c.status().message();
  EXPECT_NE(m.find(s.config_file), std::string::npos) << m;
  EXPECT_NE(m.find("'listen.host'"), std::string::npos) << m;
}

TEST_F(ConfigTest, LogLevelIsCheckedWithItsSource) {
  ConfigSources s;
  s.config_file = write("[log]\nlevel = \"verbose\"\n");
  Result<Config> c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  std::string m = c.status().message();
  EXPECT_NE(m.find(s.config_file), std::string::npos) << m;
  EXPECT_NE(m.find("log.level"), std::string::npos) << m;
  EXPECT_NE(m.find("'verbose'"), std::string::npos) << m;

  s.config_file = write("");
  s.env = {{"SOCLE_LOG_LEVEL", "loud"}};
  c = load_config(s);
  ASSERT_FALSE(c.is_ok());
  m = c.status().message();
  EXPECT_NE(m.find("SOCLE_LOG_LEVEL"), std::string::npos) << m;
  EXPECT_NE(m.find("'loud'"), std::string::npos) << m;

  for (const char* level : {"debug", "info", "warn", "error", "off"}) {
    s.env = {{"SOCLE_LOG_LEVEL", level}};
    c = load_config(s);
    ASSERT_TRUE(c.is_ok()) << level << ": " << c.status().message();
    EXPECT_EQ(c->log_level, level);
  }
}

// docs/configuration.md must stay true: every option, its variable and its default.
TEST(ConfigDocs, EveryOptionIsDocumented) {
  Result<std::string> doc = read_file(std::string(SOCLE_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(doc.is_ok());
  Config defaults;
  for (const OptionSpec& o : config_options()) {
    EXPECT_NE(doc->find(std::string("`") + o.key + "`"), std::string::npos) << o.key;
    EXPECT_NE(doc->find(o.env), std::string::npos) << o.env;
    std::string def = o.get(defaults);
    EXPECT_NE(doc->find("`" + def + "`"), std::string::npos) << o.key << " default " << def;
  }
}

}  // namespace
}  // namespace socle
