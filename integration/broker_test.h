// GoogleTest base fixture for tests that run one real broker process: starts it named after the
// test, prints its log on failure and checks it is still running (and stops cleanly) at the end.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "integration/broker_process.h"

namespace runnel::it {

class BrokerTestBase : public ::testing::Test {
  protected:
    BrokerProcess& start_broker(BrokerOptions options = {}) {
        options.name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (char& c : options.name) {
            if (c == '/') c = '_';
        }
        broker_ = std::make_unique<BrokerProcess>(std::move(options));
        try {
            broker_->start();  // the exception's message carries the log's tail
        } catch (...) {
            broker_.reset();
            throw;
        }
        return *broker_;
    }

    void TearDown() override {
        if (!broker_) return;
        if (HasFailure()) std::cerr << broker_->log_tail();
        if (broker_->running()) {
            try {
                broker_->stop();
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        } else {
            ADD_FAILURE() << "broker was not running at the end of the test\n"
                          << broker_->log_tail();
        }
        broker_.reset();
    }

    std::unique_ptr<BrokerProcess> broker_;
};

}  // namespace runnel::it
