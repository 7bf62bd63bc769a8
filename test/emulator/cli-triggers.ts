/**
 * The Billing triggers of the Stripe CLI pinned in package.json (@stripe/cli 1.52.0) and the API
 * requests each one's fixture makes, in order, as form parameters (read from the CLI's
 * pkg/fixtures/triggers/<event>.json, which the binary embeds byte for byte; `${name:path}` is the
 * CLI's reference to an earlier answer). `fails` says why the event does not arrive: the first
 * request the emulator does not serve and its answer, or what the fixture does that makes Stripe send
 * no such event. cli-triggers.test.ts checks that those still do not deliver (so an entry goes as soon
 * as the emulator serves it) and that every other trigger delivers its event (`delivers`, where the
 * trigger is named after no event: subscription.payment_* are fixtures that make a subscription's
 * first payment succeed or fail). invoice.payment_succeeded is the CLI's alias of invoice.paid. The
 * meter triggers (v1.billing.meter.*) post to meter-events.stripe.com whatever --api-base says, so
 * they are not run offline.
 */
export interface CliTrigger {
  event: string
  requests: string[]
  /** The event type that arrives, when the trigger's name is none. */
  delivers?: string
  fails?: string
}

export const CLI_TRIGGERS: CliTrigger[] = [
  {
    event: 'customer.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)'
    ]
  },
  {
    event: 'customer.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/customers/${customer:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'customer.deleted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'DELETE /v1/customers/${customer:id}'
    ]
  },
  {
    event: 'customer.subscription.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&payment_method=pm_card_visa&invoice_settings[default_payment_method]=pm_card_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}'
    ]
  },
  {
    event: 'customer.subscription.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&payment_method=pm_card_visa&invoice_settings[default_payment_method]=pm_card_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}',
      'POST /v1/subscriptions/${subscription:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'customer.subscription.deleted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&payment_method=pm_card_visa&invoice_settings[default_payment_method]=pm_card_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}',
      'DELETE /v1/subscriptions/${subscription:id}'
    ]
  },
  {
    event: 'customer.subscription.paused',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}&trial_period_days=7&trial_settings[end_behavior][missing_payment_method]=pause',
      'POST /v1/subscriptions/${subscription:id} trial_end=now'
    ]
  },
  {
    event: 'customer.subscription.trial_will_end',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}&trial_period_days=1'
    ]
  },
  {
    event: 'checkout.session.completed',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd',
      'POST /v1/checkout/sessions success_url=https://httpbin.org/post&cancel_url=https://httpbin.org/post&mode=payment&line_items[0][price]=${price:id}&line_items[0][quantity]=2&payment_intent_data[shipping][name]=Jenny Rosen&payment_intent_data[shipping][address][line1]=510 Townsend St&payment_intent_data[shipping][address][postal_code]=94103&payment_intent_data[shipping][address][city]=San Francisco&payment_intent_data[shipping][address][state]=CA&payment_intent_data[shipping][address][country]=US',
      'GET /v1/payment_pages/${checkout_session:id}',
      'POST /v1/payment_methods type=card&card[token]=tok_visa&billing_details[email]=stripe@example.com&billing_details[name]=Jenny Rosen&billing_details[address][line1]=354 Oyster Point Blvd&billing_details[address][postal_code]=94080&billing_details[address][city]=South San Francisco&billing_details[address][state]=CA&billing_details[address][country]=US',
      'POST /v1/payment_pages/${checkout_session:id}/confirm payment_method=${payment_method:id}&expected_amount=3000'
    ]
  },
  {
    event: 'checkout.session.expired',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd',
      'POST /v1/checkout/sessions success_url=https://httpbin.org/post&cancel_url=https://httpbin.org/post&mode=payment&line_items[0][price]=${price:id}&line_items[0][quantity]=2',
      'POST /v1/checkout/sessions/${checkout_session:id}/expire'
    ]
  },
  {
    event: 'checkout.session.async_payment_succeeded',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=eur',
      'POST /v1/checkout/sessions success_url=https://httpbin.org/post&cancel_url=https://httpbin.org/post&payment_method_types[0]=sepa_debit&mode=payment&line_items[0][price]=${price:id}&line_items[0][quantity]=2&payment_intent_data[setup_future_usage]=off_session&payment_intent_data[shipping][name]=Jenny Rosen&payment_intent_data[shipping][address][line1]=510 Townsend St&payment_intent_data[shipping][address][postal_code]=94103&payment_intent_data[shipping][address][city]=San Francisco&payment_intent_data[shipping][address][state]=CA&payment_intent_data[shipping][address][country]=US',
      'GET /v1/payment_pages/${checkout_session:id}',
      'POST /v1/payment_methods type=sepa_debit&sepa_debit[iban]=AT611904300234573201&billing_details[email]=stripe@example.com&billing_details[name]=Jenny Rosen&billing_details[phone]=1234567890&billing_details[address][line1]=71 Crown Street&billing_details[address][city]=London&billing_details[address][postal_code]=W10 2WB&billing_details[address][country]=GB',
      'POST /v1/payment_pages/${checkout_session:id}/confirm payment_method=${payment_method:id}&expected_amount=3000'
    ]
  },
  {
    event: 'checkout.session.async_payment_failed',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=eur',
      'POST /v1/checkout/sessions success_url=https://httpbin.org/post&cancel_url=https://httpbin.org/post&payment_method_types[0]=sepa_debit&mode=payment&line_items[0][price]=${price:id}&line_items[0][quantity]=2&payment_intent_data[setup_future_usage]=off_session&payment_intent_data[shipping][name]=Jenny Rosen&payment_intent_data[shipping][address][line1]=510 Townsend St&payment_intent_data[shipping][address][postal_code]=94103&payment_intent_data[shipping][address][city]=San Francisco&payment_intent_data[shipping][address][state]=CA&payment_intent_data[shipping][address][country]=US (may fail: invalid_request_error)',
      'GET /v1/payment_pages/${checkout_session:id} (may fail: invalid_request_error)',
      'POST /v1/payment_methods type=sepa_debit&sepa_debit[iban]=IT60X0542811101000000123456&billing_details[email]=stripe@example.com&billing_details[name]=Jenny Rosen&billing_details[phone]=1234567890&billing_details[address][line1]=71 Crown Street&billing_details[address][city]=London&billing_details[address][postal_code]=W10 2WB&billing_details[address][country]=GB (may fail: invalid_request_error)',
      'POST /v1/payment_pages/${checkout_session:id}/confirm payment_method=${payment_method:id}&expected_amount=3000 (may fail: invalid_request_error)'
    ]
  },
  {
    event: 'invoice.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include'
    ]
  },
  {
    event: 'invoice.finalized',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize'
    ]
  },
  {
    event: 'invoice.paid',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_visa/attach customer=${customer:id}',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/pay payment_method=${payment_method:id}'
    ]
  },
  {
    event: 'invoice.payment_succeeded',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_visa/attach customer=${customer:id}',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/pay payment_method=${payment_method:id}'
    ]
  },
  {
    event: 'invoice.payment_failed',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_chargeCustomerFail/attach customer=${customer:id}',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/pay payment_method=${payment_method:id} (may fail: card_error)'
    ]
  },
  {
    event: 'invoice.payment_action_required',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_threeDSecure2Required/attach customer=${customer:id}',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/pay payment_method=${payment_method:id} (may fail: card_error)'
    ]
  },
  {
    event: 'invoice.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'invoice.deleted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'DELETE /v1/invoices/${invoice:id}'
    ]
  },
  {
    event: 'invoice.voided',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize',
      'POST /v1/invoices/${invoice:id}/void'
    ]
  },
  {
    event: 'invoice.marked_uncollectible',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize',
      'POST /v1/invoices/${invoice:id}/mark_uncollectible'
    ]
  },
  {
    event: 'invoice.sent',
    requests: [
      'POST /v1/customers email=bob@example.com&description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include&collection_method=send_invoice&days_until_due=7',
      'POST /v1/invoices/${invoice:id}/send'
    ]
  },
  {
    event: 'invoiceitem.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)'
    ]
  },
  {
    event: 'invoiceitem.deleted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'DELETE /v1/invoiceitems/${invoiceitem:id}'
    ]
  },
  {
    event: 'payment_method.attached',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_visa/attach customer=${customer:id}'
    ]
  },
  {
    event: 'payment_method.detached',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/payment_methods/pm_card_visa/attach customer=${customer:id}',
      'POST /v1/payment_methods/${payment_method_attach:id}/detach'
    ]
  },
  {
    event: 'payment_method.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/setup_intents customer=${customer:id}&payment_method=pm_card_visa&confirm=true&description=(created by Stripe CLI)',
      'POST /v1/payment_methods/${setup_intent:payment_method} metadata[foo]=bar'
    ]
  },
  {
    event: 'setup_intent.created',
    requests: [
      'POST /v1/setup_intents description=(created by Stripe CLI)&payment_method_types[0]=card'
    ]
  },
  {
    event: 'setup_intent.succeeded',
    requests: [
      'POST /v1/setup_intents confirm=true&description=(created by Stripe CLI)&payment_method=pm_card_visa&payment_method_types[0]=card'
    ]
  },
  {
    event: 'setup_intent.canceled',
    requests: [
      'POST /v1/setup_intents description=(created by Stripe CLI)&payment_method_types[0]=card',
      'POST /v1/setup_intents/${setup_intent:id}/cancel cancellation_reason=requested_by_customer'
    ]
  },
  {
    event: 'setup_intent.setup_failed',
    requests: [
      'POST /v1/setup_intents confirm=true&description=(created by Stripe CLI)&payment_method=pm_card_chargeDeclined&payment_method_types[0]=card (may fail: card_error)'
    ]
  },
  {
    event: 'setup_intent.requires_action',
    requests: [
      'POST /v1/setup_intents confirm=true&description=(created by Stripe CLI)&payment_method=pm_card_authenticationRequired'
    ]
  },
  {
    event: 'payment_intent.created',
    requests: [
      'POST /v1/payment_intents amount=2000&currency=usd&description=(created by Stripe CLI)&payment_method_types[0]=card'
    ]
  },
  {
    event: 'payment_intent.succeeded',
    requests: [
      'POST /v1/payment_intents amount=2000&confirm=true&currency=usd&description=(created by Stripe CLI)&payment_method=pm_card_visa&payment_method_types[0]=card&shipping[name]=Jenny Rosen&shipping[address][line1]=510 Townsend St&shipping[address][postal_code]=94103&shipping[address][city]=San Francisco&shipping[address][state]=CA&shipping[address][country]=US'
    ]
  },
  {
    event: 'payment_intent.payment_failed',
    requests: [
      'POST /v1/payment_intents amount=2000&confirm=true&currency=usd&description=(created by Stripe CLI)&payment_method=pm_card_chargeDeclined&payment_method_types[0]=card (may fail: card_error)'
    ]
  },
  {
    event: 'payment_intent.requires_action',
    requests: [
      'POST /v1/payment_intents amount=2000&currency=usd&confirm=true&description=(created by Stripe CLI)&payment_method=pm_card_authenticationRequired&payment_method_types[0]=card'
    ]
  },
  {
    event: 'payment_intent.canceled',
    requests: [
      'POST /v1/payment_intents amount=2000&currency=usd&description=(created by Stripe CLI)',
      'POST /v1/payment_intents/${payment_intent:id}/cancel cancellation_reason=requested_by_customer'
    ]
  },
  {
    event: 'charge.succeeded',
    requests: [
      'POST /v1/payment_intents amount=100&currency=usd&payment_method_types[0]=card&payment_method=pm_card_visa&confirm=true&description=(created by Stripe CLI)'
    ]
  },
  {
    event: 'charge.failed',
    requests: [
      'POST /v1/payment_intents amount=100&currency=usd&payment_method_types[0]=card&payment_method=pm_card_visa_chargeDeclined&confirm=true&description=(created by Stripe CLI) (may fail: card_error)'
    ]
  },
  {
    event: 'coupon.created',
    requests: [
      'POST /v1/coupons percent_off=20'
    ]
  },
  {
    event: 'coupon.updated',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/coupons/${coupon:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'coupon.deleted',
    requests: [
      'POST /v1/coupons percent_off=20',
      'DELETE /v1/coupons/${coupon:id}'
    ]
  },
  {
    event: 'promotion_code.created',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/promotion_codes coupon=${coupon:id}'
    ]
  },
  {
    event: 'promotion_code.updated',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/promotion_codes coupon=${coupon:id}',
      'POST /v1/promotion_codes/${promotion_code:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'customer.discount.created',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/customers coupon=${coupon:id}&description=(created by Stripe CLI)'
    ]
  },
  {
    event: 'customer.discount.updated',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/customers coupon=${coupon_1:id}&description=(created by Stripe CLI)',
      'POST /v1/coupons percent_off=30',
      'POST /v1/customers/${customer:id} coupon=${coupon_2:id}'
    ]
  },
  {
    event: 'customer.discount.deleted',
    requests: [
      'POST /v1/coupons percent_off=20',
      'POST /v1/customers coupon=${coupon:id}&description=(created by Stripe CLI)',
      'POST /v1/customers/${customer:id} coupon='
    ]
  },
  {
    event: 'subscription_schedule.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=now&phases[0][iterations]=1&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1&phases[1][iterations]=1&phases[1][items][0][price]=${price:id}&phases[1][items][0][quantity]=2'
    ]
  },
  {
    event: 'subscription_schedule.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=now&phases[0][iterations]=1&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1&phases[1][iterations]=1&phases[1][items][0][price]=${price:id}&phases[1][items][0][quantity]=2',
      'POST /v1/subscription_schedules/${subscription_schedule:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'subscription_schedule.released',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=now&phases[0][iterations]=1&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1&phases[1][iterations]=1&phases[1][items][0][price]=${price:id}&phases[1][items][0][quantity]=2',
      'POST /v1/subscription_schedules/${subscription_schedule:id}/release'
    ]
  },
  {
    event: 'subscription_schedule.canceled',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=now&phases[0][iterations]=1&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1&phases[1][iterations]=1&phases[1][items][0][price]=${price:id}&phases[1][items][0][quantity]=2',
      'POST /v1/subscription_schedules/${subscription_schedule:id}/cancel'
    ]
  },
  {
    event: 'subscription_schedule.aborted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=1893456000&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1',
      'POST /v1/subscription_schedules/${subscription_schedule:id}/cancel prorate=false&invoice_now=false'
    ],
    fails: 'delivers subscription_schedule.canceled: the fixture cancels a schedule that has not started, and Stripe sends aborted only when unpaid invoices end the subscription'
  },
  {
    event: 'subscription_schedule.completed',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)',
      'POST /v1/customers description=(created by Stripe CLI)&test_clock=${test_clock:id}',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=1577836800&end_behavior=release&phases[0][iterations]=1&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1',
      'POST /v1/test_helpers/test_clocks/${test_clock:id}/advance frozen_time=1580515200'
    ]
  },
  {
    event: 'subscription_schedule.expiring',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)',
      'POST /v1/customers description=(created by Stripe CLI)&test_clock=${test_clock:id}',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/subscription_schedules customer=${customer:id}&start_date=1577836800&end_behavior=cancel&phases[0][items][0][price]=${price:id}&phases[0][items][0][quantity]=1&phases[0][end_date]=1580256000',
      'POST /v1/test_helpers/test_clocks/${test_clock:id}/advance frozen_time=1579478400'
    ],
    fails: 'nothing is due yet: the fixture advances its clock to 9 days before the schedule ends, and Stripe sends expiring 7 days before'
  },
  {
    event: 'test_helpers.test_clock.created',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)'
    ]
  },
  {
    event: 'test_helpers.test_clock.advancing',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)',
      'POST /v1/test_helpers/test_clocks/${test_clock:id}/advance frozen_time=1580515200'
    ]
  },
  {
    event: 'test_helpers.test_clock.ready',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)',
      'POST /v1/test_helpers/test_clocks/${test_clock:id}/advance frozen_time=1580515200'
    ]
  },
  {
    event: 'test_helpers.test_clock.deleted',
    requests: [
      'POST /v1/test_helpers/test_clocks frozen_time=1577836800&name=(created by Stripe CLI)',
      'DELETE /v1/test_helpers/test_clocks/${test_clock:id}'
    ]
  },
  {
    event: 'price.created',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month'
    ]
  },
  {
    event: 'price.updated',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/prices/${price:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'product.created',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)'
    ]
  },
  {
    event: 'product.updated',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/products/${product:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'product.deleted',
    requests: [
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'DELETE /v1/products/${product:id}'
    ]
  },
  {
    event: 'plan.created',
    requests: [
      'POST /v1/plans currency=usd&interval=month&amount=2000&product[name]=myproduct'
    ]
  },
  {
    event: 'plan.updated',
    requests: [
      'POST /v1/plans currency=usd&interval=month&amount=2000&product[name]=myproduct',
      'POST /v1/plans/${plan:id} metadata[foo]=bar'
    ]
  },
  {
    event: 'plan.deleted',
    requests: [
      'POST /v1/plans currency=usd&interval=month&amount=2000&product[name]=myproduct',
      'DELETE /v1/plans/${plan:id}'
    ]
  },
  {
    event: 'billing_portal.session.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/billing_portal/sessions customer=${customer:id}'
    ]
  },
  {
    event: 'credit_note.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize',
      'POST /v1/credit_notes invoice=${invoice:id}&lines[0][type]=custom_line_item&lines[0][unit_amount]=1000&lines[0][quantity]=1&lines[0][description]=(created by Stripe CLI)'
    ],
    fails: 'POST /v1/credit_notes: Unrecognized request URL (POST: /v1/credit_notes).'
  },
  {
    event: 'credit_note.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize',
      'POST /v1/credit_notes invoice=${invoice:id}&lines[0][type]=custom_line_item&lines[0][unit_amount]=1000&lines[0][quantity]=1&lines[0][description]=(created by Stripe CLI)',
      'POST /v1/credit_notes/${credit_note:id} metadata[foo]=bar'
    ],
    fails: 'POST /v1/credit_notes: Unrecognized request URL (POST: /v1/credit_notes).'
  },
  {
    event: 'credit_note.voided',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/invoiceitems amount=2000&currency=usd&customer=${customer:id}&description=(created by Stripe CLI)',
      'POST /v1/invoices customer=${customer:id}&description=(created by Stripe CLI)&pending_invoice_items_behavior=include',
      'POST /v1/invoices/${invoice:id}/finalize',
      'POST /v1/credit_notes invoice=${invoice:id}&lines[0][type]=custom_line_item&lines[0][unit_amount]=1000&lines[0][quantity]=1&lines[0][description]=(created by Stripe CLI)',
      'POST /v1/credit_notes/${credit_note:id}/void'
    ],
    fails: 'POST /v1/credit_notes: Unrecognized request URL (POST: /v1/credit_notes).'
  },
  {
    event: 'customer.source.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/customers/${customer:id}/sources source=tok_visa'
    ],
    fails: 'POST /v1/customers/${customer:id}/sources: Unrecognized request URL (POST: /v1/customers/cus_…/sources).'
  },
  {
    event: 'customer.source.updated',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)',
      'POST /v1/customers/${customer:id}/sources source=tok_visa',
      'POST /v1/customers/${customer:id}/sources/${customer_source:id} metadata[foo]=bar'
    ],
    fails: 'POST /v1/customers/${customer:id}/sources: Unrecognized request URL (POST: /v1/customers/cus_…/sources).'
  },
  {
    event: 'subscription.payment_succeeded',
    delivers: 'invoice.paid',
    requests: [
      'POST /v1/payment_methods type=card&card[token]=tok_visa',
      'POST /v1/customers name=SubscriptionTestCustomer&description=(created by Stripe CLI)',
      'POST /v1/payment_methods/${payment_method:id}/attach customer=${customer:id}',
      'POST /v1/customers/${customer:id} invoice_settings[default_payment_method]=${payment_method:id}',
      'POST /v1/products name=SubscriptionTestProduct&description=(created by Stripe CLI)',
      'POST /v1/prices nickname=SubscriptionTestPrice&product=${product:id}&unit_amount=2000&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}',
      'GET /v1/invoices/${subscription:latest_invoice}'
    ]
  },
  {
    event: 'subscription.payment_failed',
    delivers: 'invoice.payment_failed',
    requests: [
      'POST /v1/payment_methods type=card&card[token]=tok_chargeCustomerFail',
      'POST /v1/customers name=SubscriptionTestCustomer&description=(created by Stripe CLI)',
      'POST /v1/payment_methods/${payment_method:id}/attach customer=${customer:id}',
      'POST /v1/customers/${customer:id} invoice_settings[default_payment_method]=${payment_method:id}',
      'POST /v1/products name=SubscriptionTestProduct&description=(created by Stripe CLI)',
      'POST /v1/prices nickname=SubscriptionTestPrice&product=${product:id}&unit_amount=2000&currency=usd&recurring[interval]=month',
      'POST /v1/subscriptions customer=${customer:id}&items[0][price]=${price:id}',
      'GET /v1/invoices/${subscription:latest_invoice}'
    ]
  },
  {
    event: 'tax_rate.created',
    requests: [
      'POST /v1/tax_rates display_name=test&inclusive=true&percentage=10&description=(created by Stripe CLI)'
    ],
    fails: 'POST /v1/tax_rates: Unrecognized request URL (POST: /v1/tax_rates).'
  },
  {
    event: 'tax_rate.updated',
    requests: [
      'POST /v1/tax_rates display_name=test&inclusive=true&percentage=10&description=(created by Stripe CLI)',
      'POST /v1/tax_rates/${tax_rate:id} metadata[foo]=bar'
    ],
    fails: 'POST /v1/tax_rates: Unrecognized request URL (POST: /v1/tax_rates).'
  },
  {
    event: 'quote.created',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/quotes description=(created by Stripe CLI)&customer=${customer:id}&line_items[0][price]=${price:id}&line_items[0][quantity]=10'
    ],
    fails: 'POST /v1/quotes: Unrecognized request URL (POST: /v1/quotes).'
  },
  {
    event: 'quote.finalized',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/quotes description=(created by Stripe CLI)&customer=${customer:id}&line_items[0][price]=${price:id}&line_items[0][quantity]=10',
      'POST /v1/quotes/${quote:id}/finalize'
    ],
    fails: 'POST /v1/quotes: Unrecognized request URL (POST: /v1/quotes).'
  },
  {
    event: 'quote.accepted',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/quotes description=(created by Stripe CLI)&customer=${customer:id}&line_items[0][price]=${price:id}&line_items[0][quantity]=10',
      'POST /v1/quotes/${quote:id}/finalize',
      'POST /v1/quotes/${quote:id}/accept'
    ],
    fails: 'POST /v1/quotes: Unrecognized request URL (POST: /v1/quotes).'
  },
  {
    event: 'quote.canceled',
    requests: [
      'POST /v1/customers description=(created by Stripe CLI)&source=tok_visa',
      'POST /v1/products name=myproduct&description=(created by Stripe CLI)',
      'POST /v1/prices product=${product:id}&unit_amount=1500&currency=usd&recurring[interval]=month',
      'POST /v1/quotes description=(created by Stripe CLI)&customer=${customer:id}&line_items[0][price]=${price:id}&line_items[0][quantity]=10',
      'POST /v1/quotes/${quote:id}/cancel'
    ],
    fails: 'POST /v1/quotes: Unrecognized request URL (POST: /v1/quotes).'
  },
  {
    event: 'billing_portal.configuration.created',
    requests: [
      'POST /v1/billing_portal/configurations business_profile[headline]=created by the Stripe CLI&business_profile[privacy_policy_url]=https://www.example.com&business_profile[terms_of_service_url]=https://www.example.com&features[subscription_cancel][enabled]=true'
    ],
    fails: 'POST /v1/billing_portal/configurations: Unrecognized request URL (POST: /v1/billing_portal/configurations).'
  },
  {
    event: 'billing_portal.configuration.updated',
    requests: [
      'POST /v1/billing_portal/configurations business_profile[headline]=created by the Stripe CLI&business_profile[privacy_policy_url]=https://www.example.com&business_profile[terms_of_service_url]=https://www.example.com&features[subscription_cancel][enabled]=true',
      'POST /v1/billing_portal/configurations/${billing_portal:id} metadata[foo]=bar'
    ],
    fails: 'POST /v1/billing_portal/configurations: Unrecognized request URL (POST: /v1/billing_portal/configurations).'
  }
]
