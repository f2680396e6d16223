export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];

export type Database = {
  public: {
    Tables: {
      cart_items: {
        Row: {
          cart_id: string;
          created_at: string;
          id: string;
          quantity: number;
          updated_at: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          cart_id: string;
          created_at?: string;
          id?: string;
          quantity: number;
          updated_at?: string;
          variant_id: string;
        };
        Update: {
          cart_id?: string;
          created_at?: string;
          id?: string;
          quantity?: number;
          updated_at?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'cart_items_cart_id_fkey';
            columns: ['cart_id'];
            isOneToOne: false;
            referencedRelation: 'carts';
            referencedColumns: ['id'];
          },
          {
            foreignKeyName: 'cart_items_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: false;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      carts: {
        Row: {
          created_at: string;
          currency: string;
          id: string;
          status: Database['public']['Enums']['cart_status'];
          updated_at: string;
          user_id: string;
        };
        ComputedFields: never;
        Insert: {
          created_at?: string;
          currency?: string;
          id?: string;
          status?: Database['public']['Enums']['cart_status'];
          updated_at?: string;
          user_id?: string;
        };
        Update: {
          created_at?: string;
          currency?: string;
          id?: string;
          status?: Database['public']['Enums']['cart_status'];
          updated_at?: string;
          user_id?: string;
        };
        Relationships: [];
      };
      categories: {
        Row: {
          active: boolean;
          created_at: string;
          id: string;
          name: string;
          slug: string;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          active?: boolean;
          created_at?: string;
          id?: string;
          name: string;
          slug: string;
          updated_at?: string;
        };
        Update: {
          active?: boolean;
          created_at?: string;
          id?: string;
          name?: string;
          slug?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      inventory_conflicts: {
        Row: {
          applied_on_hand: number;
          created_at: string;
          erp_on_hand: number;
          external_ref: string;
          id: number;
          observed_at: string;
          reserved: number;
          resolved_at: string | null;
          sku: string;
          status: string;
          updated_at: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          applied_on_hand: number;
          created_at?: string;
          erp_on_hand: number;
          external_ref: string;
          id?: never;
          observed_at: string;
          reserved: number;
          resolved_at?: string | null;
          sku: string;
          status?: string;
          updated_at?: string;
          variant_id: string;
        };
        Update: {
          applied_on_hand?: number;
          created_at?: string;
          erp_on_hand?: number;
          external_ref?: string;
          id?: never;
          observed_at?: string;
          reserved?: number;
          resolved_at?: string | null;
          sku?: string;
          status?: string;
          updated_at?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'inventory_conflicts_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: false;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      inventory_levels: {
        Row: {
          erp_observed_at: string | null;
          on_hand: number;
          reserved: number;
          updated_at: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          erp_observed_at?: string | null;
          on_hand?: number;
          reserved?: number;
          updated_at?: string;
          variant_id: string;
        };
        Update: {
          erp_observed_at?: string | null;
          on_hand?: number;
          reserved?: number;
          updated_at?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'inventory_levels_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: true;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      inventory_movements: {
        Row: {
          actor_id: string | null;
          created_at: string;
          external_ref: string | null;
          id: number;
          kind: Database['public']['Enums']['movement_kind'];
          on_hand_after: number;
          order_id: string | null;
          quantity: number;
          reason: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          actor_id?: string | null;
          created_at?: string;
          external_ref?: string | null;
          id?: never;
          kind: Database['public']['Enums']['movement_kind'];
          on_hand_after: number;
          order_id?: string | null;
          quantity: number;
          reason?: string;
          variant_id: string;
        };
        Update: {
          actor_id?: string | null;
          created_at?: string;
          external_ref?: string | null;
          id?: never;
          kind?: Database['public']['Enums']['movement_kind'];
          on_hand_after?: number;
          order_id?: string | null;
          quantity?: number;
          reason?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'inventory_movements_order_id_fkey';
            columns: ['order_id'];
            isOneToOne: false;
            referencedRelation: 'orders';
            referencedColumns: ['id'];
          },
          {
            foreignKeyName: 'inventory_movements_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: false;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      inventory_reservations: {
        Row: {
          created_at: string;
          expires_at: string;
          id: string;
          order_id: string;
          quantity: number;
          status: Database['public']['Enums']['reservation_status'];
          updated_at: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          created_at?: string;
          expires_at: string;
          id?: string;
          order_id: string;
          quantity: number;
          status?: Database['public']['Enums']['reservation_status'];
          updated_at?: string;
          variant_id: string;
        };
        Update: {
          created_at?: string;
          expires_at?: string;
          id?: string;
          order_id?: string;
          quantity?: number;
          status?: Database['public']['Enums']['reservation_status'];
          updated_at?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'inventory_reservations_order_id_fkey';
            columns: ['order_id'];
            isOneToOne: false;
            referencedRelation: 'orders';
            referencedColumns: ['id'];
          },
          {
            foreignKeyName: 'inventory_reservations_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: false;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      order_items: {
        Row: {
          created_at: string;
          currency: string;
          id: string;
          line_total_amount: number;
          name: string;
          order_id: string;
          quantity: number;
          sku: string;
          unit_price_amount: number;
          variant_id: string | null;
        };
        ComputedFields: never;
        Insert: {
          created_at?: string;
          currency: string;
          id?: string;
          line_total_amount: number;
          name: string;
          order_id: string;
          quantity: number;
          sku: string;
          unit_price_amount: number;
          variant_id?: string | null;
        };
        Update: {
          created_at?: string;
          currency?: string;
          id?: string;
          line_total_amount?: number;
          name?: string;
          order_id?: string;
          quantity?: number;
          sku?: string;
          unit_price_amount?: number;
          variant_id?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: 'order_items_order_id_fkey';
            columns: ['order_id'];
            isOneToOne: false;
            referencedRelation: 'orders';
            referencedColumns: ['id'];
          },
          {
            foreignKeyName: 'order_items_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: false;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
      orders: {
        Row: {
          billing_address: Json | null;
          canceled_at: string | null;
          cart_id: string | null;
          created_at: string;
          currency: string;
          discount_amount: number;
          email: string;
          erp_status: Database['public']['Enums']['erp_status'];
          expired_at: string | null;
          expires_at: string;
          fulfillment_status: Database['public']['Enums']['fulfillment_status'];
          id: string;
          idempotency_key: string;
          number: string;
          paid_at: string | null;
          payment_status: Database['public']['Enums']['payment_status'];
          request_fingerprint: string | null;
          shipping_address: Json | null;
          shipping_amount: number;
          status: Database['public']['Enums']['order_status'];
          subtotal_amount: number;
          tax_amount: number;
          total_amount: number;
          tracking_number: string | null;
          updated_at: string;
          user_id: string | null;
          version: number;
        };
        ComputedFields: never;
        Insert: {
          billing_address?: Json | null;
          canceled_at?: string | null;
          cart_id?: string | null;
          created_at?: string;
          currency: string;
          discount_amount?: number;
          email: string;
          erp_status?: Database['public']['Enums']['erp_status'];
          expired_at?: string | null;
          expires_at: string;
          fulfillment_status?: Database['public']['Enums']['fulfillment_status'];
          id?: string;
          idempotency_key: string;
          number: string;
          paid_at?: string | null;
          payment_status?: Database['public']['Enums']['payment_status'];
          request_fingerprint?: string | null;
          shipping_address?: Json | null;
          shipping_amount?: number;
          status?: Database['public']['Enums']['order_status'];
          subtotal_amount: number;
          tax_amount?: number;
          total_amount: number;
          tracking_number?: string | null;
          updated_at?: string;
          user_id?: string | null;
          version?: number;
        };
        Update: {
          billing_address?: Json | null;
          canceled_at?: string | null;
          cart_id?: string | null;
          created_at?: string;
          currency?: string;
          discount_amount?: number;
          email?: string;
          erp_status?: Database['public']['Enums']['erp_status'];
          expired_at?: string | null;
          expires_at?: string;
          fulfillment_status?: Database['public']['Enums']['fulfillment_status'];
          id?: string;
          idempotency_key?: string;
          number?: string;
          paid_at?: string | null;
          payment_status?: Database['public']['Enums']['payment_status'];
          request_fingerprint?: string | null;
          shipping_address?: Json | null;
          shipping_amount?: number;
          status?: Database['public']['Enums']['order_status'];
          subtotal_amount?: number;
          tax_amount?: number;
          total_amount?: number;
          tracking_number?: string | null;
          updated_at?: string;
          user_id?: string | null;
          version?: number;
        };
        Relationships: [
          {
            foreignKeyName: 'orders_cart_id_fkey';
            columns: ['cart_id'];
            isOneToOne: false;
            referencedRelation: 'carts';
            referencedColumns: ['id'];
          },
        ];
      };
      payments: {
        Row: {
          amount: number;
          amount_authorized: number;
          amount_captured: number;
          amount_refunded: number;
          created_at: string;
          currency: string;
          dispute_reason: string | null;
          disputed_at: string | null;
          failure_message: string | null;
          id: string;
          last_event_at: string | null;
          order_id: string;
          provider: string;
          status: Database['public']['Enums']['payment_state'];
          stripe_checkout_session_id: string | null;
          stripe_payment_intent_id: string | null;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          amount: number;
          amount_authorized?: number;
          amount_captured?: number;
          amount_refunded?: number;
          created_at?: string;
          currency: string;
          dispute_reason?: string | null;
          disputed_at?: string | null;
          failure_message?: string | null;
          id?: string;
          last_event_at?: string | null;
          order_id: string;
          provider?: string;
          status?: Database['public']['Enums']['payment_state'];
          stripe_checkout_session_id?: string | null;
          stripe_payment_intent_id?: string | null;
          updated_at?: string;
        };
        Update: {
          amount?: number;
          amount_authorized?: number;
          amount_captured?: number;
          amount_refunded?: number;
          created_at?: string;
          currency?: string;
          dispute_reason?: string | null;
          disputed_at?: string | null;
          failure_message?: string | null;
          id?: string;
          last_event_at?: string | null;
          order_id?: string;
          provider?: string;
          status?: Database['public']['Enums']['payment_state'];
          stripe_checkout_session_id?: string | null;
          stripe_payment_intent_id?: string | null;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'payments_order_total_fkey';
            columns: ['order_id', 'currency', 'amount'];
            isOneToOne: false;
            referencedRelation: 'orders';
            referencedColumns: ['id', 'currency', 'total_amount'];
          },
        ];
      };
      product_variants: {
        Row: {
          active: boolean;
          created_at: string;
          currency: string;
          id: string;
          image_path: string | null;
          in_stock: boolean;
          name: string;
          options: NonNullable<Json>;
          price_amount: number;
          product_id: string;
          sku: string;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          active?: boolean;
          created_at?: string;
          currency: string;
          id?: string;
          image_path?: string | null;
          in_stock?: boolean;
          name: string;
          options?: NonNullable<Json>;
          price_amount: number;
          product_id: string;
          sku: string;
          updated_at?: string;
        };
        Update: {
          active?: boolean;
          created_at?: string;
          currency?: string;
          id?: string;
          image_path?: string | null;
          in_stock?: boolean;
          name?: string;
          options?: NonNullable<Json>;
          price_amount?: number;
          product_id?: string;
          sku?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'product_variants_product_id_fkey';
            columns: ['product_id'];
            isOneToOne: false;
            referencedRelation: 'products';
            referencedColumns: ['id'];
          },
        ];
      };
      products: {
        Row: {
          active: boolean;
          category_id: string | null;
          created_at: string;
          description: string;
          id: string;
          image_path: string | null;
          name: string;
          slug: string;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          active?: boolean;
          category_id?: string | null;
          created_at?: string;
          description?: string;
          id?: string;
          image_path?: string | null;
          name: string;
          slug: string;
          updated_at?: string;
        };
        Update: {
          active?: boolean;
          category_id?: string | null;
          created_at?: string;
          description?: string;
          id?: string;
          image_path?: string | null;
          name?: string;
          slug?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'products_category_id_fkey';
            columns: ['category_id'];
            isOneToOne: false;
            referencedRelation: 'categories';
            referencedColumns: ['id'];
          },
        ];
      };
      profiles: {
        Row: {
          billing_address: Json | null;
          created_at: string;
          email: string | null;
          full_name: string | null;
          id: string;
          phone: string | null;
          shipping_address: Json | null;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          billing_address?: Json | null;
          created_at?: string;
          email?: string | null;
          full_name?: string | null;
          id: string;
          phone?: string | null;
          shipping_address?: Json | null;
          updated_at?: string;
        };
        Update: {
          billing_address?: Json | null;
          created_at?: string;
          email?: string | null;
          full_name?: string | null;
          id?: string;
          phone?: string | null;
          shipping_address?: Json | null;
          updated_at?: string;
        };
        Relationships: [];
      };
      refunds: {
        Row: {
          amount: number;
          created_at: string;
          currency: string;
          id: string;
          idempotency_key: string;
          order_id: string;
          payment_id: string;
          reason: string | null;
          requested_by: string | null;
          status: Database['public']['Enums']['refund_status'];
          stripe_refund_id: string | null;
          updated_at: string;
        };
        ComputedFields: never;
        Insert: {
          amount: number;
          created_at?: string;
          currency: string;
          id?: string;
          idempotency_key: string;
          order_id: string;
          payment_id: string;
          reason?: string | null;
          requested_by?: string | null;
          status?: Database['public']['Enums']['refund_status'];
          stripe_refund_id?: string | null;
          updated_at?: string;
        };
        Update: {
          amount?: number;
          created_at?: string;
          currency?: string;
          id?: string;
          idempotency_key?: string;
          order_id?: string;
          payment_id?: string;
          reason?: string | null;
          requested_by?: string | null;
          status?: Database['public']['Enums']['refund_status'];
          stripe_refund_id?: string | null;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'refunds_order_id_fkey';
            columns: ['order_id'];
            isOneToOne: false;
            referencedRelation: 'orders';
            referencedColumns: ['id'];
          },
          {
            foreignKeyName: 'refunds_payment_id_fkey';
            columns: ['payment_id'];
            isOneToOne: false;
            referencedRelation: 'payments';
            referencedColumns: ['id'];
          },
        ];
      };
      staff: {
        Row: {
          created_at: string;
          role: Database['public']['Enums']['staff_role'];
          updated_at: string;
          user_id: string;
        };
        ComputedFields: never;
        Insert: {
          created_at?: string;
          role: Database['public']['Enums']['staff_role'];
          updated_at?: string;
          user_id: string;
        };
        Update: {
          created_at?: string;
          role?: Database['public']['Enums']['staff_role'];
          updated_at?: string;
          user_id?: string;
        };
        Relationships: [];
      };
      variant_costs: {
        Row: {
          cost_amount: number;
          currency: string;
          updated_at: string;
          variant_id: string;
        };
        ComputedFields: never;
        Insert: {
          cost_amount: number;
          currency: string;
          updated_at?: string;
          variant_id: string;
        };
        Update: {
          cost_amount?: number;
          currency?: string;
          updated_at?: string;
          variant_id?: string;
        };
        Relationships: [
          {
            foreignKeyName: 'variant_costs_variant_id_fkey';
            columns: ['variant_id'];
            isOneToOne: true;
            referencedRelation: 'product_variants';
            referencedColumns: ['id'];
          },
        ];
      };
    };
    Views: {
      [_ in never]: never;
    };
    Functions: {
      adjust_inventory: {
        Args: {
          p_kind?: Database['public']['Enums']['movement_kind'];
          p_quantity: number;
          p_reason: string;
          p_variant_id: string;
        };
        Returns: {
          erp_observed_at: string | null;
          on_hand: number;
          reserved: number;
          updated_at: string;
          variant_id: string;
        };
        SetofOptions: {
          from: '*';
          to: 'inventory_levels';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      apply_erp_message: {
        Args: { p_message: Json; p_message_id: string; p_observed_at: string; p_source: string };
        Returns: Json;
      };
      apply_erp_price: {
        Args: {
          p_currency: string;
          p_external_ref: string;
          p_observed_at: string;
          p_price_amount: number;
          p_sku: string;
        };
        Returns: Json;
      };
      apply_erp_stock_level: {
        Args: { p_external_ref: string; p_observed_at: string; p_on_hand: number; p_sku: string };
        Returns: Json;
      };
      apply_stripe_event: { Args: { p_event: Json }; Returns: Json };
      attach_payment: {
        Args: { p_checkout_session_id?: string; p_order_id: string; p_payment_intent_id?: string };
        Returns: {
          amount: number;
          amount_authorized: number;
          amount_captured: number;
          amount_refunded: number;
          created_at: string;
          currency: string;
          dispute_reason: string | null;
          disputed_at: string | null;
          failure_message: string | null;
          id: string;
          last_event_at: string | null;
          order_id: string;
          provider: string;
          status: Database['public']['Enums']['payment_state'];
          stripe_checkout_session_id: string | null;
          stripe_payment_intent_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: '*';
          to: 'payments';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      cancel_order: {
        Args: { p_order_id: string };
        Returns: {
          billing_address: Json | null;
          canceled_at: string | null;
          cart_id: string | null;
          created_at: string;
          currency: string;
          discount_amount: number;
          email: string;
          erp_status: Database['public']['Enums']['erp_status'];
          expired_at: string | null;
          expires_at: string;
          fulfillment_status: Database['public']['Enums']['fulfillment_status'];
          id: string;
          idempotency_key: string;
          number: string;
          paid_at: string | null;
          payment_status: Database['public']['Enums']['payment_status'];
          request_fingerprint: string | null;
          shipping_address: Json | null;
          shipping_amount: number;
          status: Database['public']['Enums']['order_status'];
          subtotal_amount: number;
          tax_amount: number;
          total_amount: number;
          tracking_number: string | null;
          updated_at: string;
          user_id: string | null;
          version: number;
        };
        SetofOptions: {
          from: '*';
          to: 'orders';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      claim_outbox_batch: {
        Args: {
          p_limit?: number;
          p_now?: string;
          p_topic: string;
          p_visibility?: string;
          p_worker?: string;
        };
        Returns: {
          aggregate_id: string;
          aggregate_type: string;
          attempts: number;
          id: number;
          idempotency_key: string;
          payload: Json;
          topic: string;
        }[];
      };
      complete_outbox_message: {
        Args: { p_id: number; p_now?: string; p_result?: Json };
        Returns: Json;
      };
      complete_outbox_messages: { Args: { p_ids: number[]; p_now?: string }; Returns: number };
      custom_access_token_hook: { Args: { event: Json }; Returns: Json };
      dead_letter_outbox_message: { Args: { p_error: string; p_id: number }; Returns: Json };
      erase_customer: { Args: { p_user_id: string }; Returns: Json };
      expire_reservations: { Args: { p_limit?: number; p_now?: string }; Returns: Json };
      extend_payment_deadline: {
        Args: { p_extend_to: string; p_not_before: string; p_now?: string; p_order_id: string };
        Returns: string;
      };
      fail_outbox_message: {
        Args: {
          p_base_delay?: string;
          p_error: string;
          p_id: number;
          p_max_delay?: string;
          p_now?: string;
        };
        Returns: Json;
      };
      fail_refund: {
        Args: { p_error: string; p_refund_id: string };
        Returns: {
          amount: number;
          created_at: string;
          currency: string;
          id: string;
          idempotency_key: string;
          order_id: string;
          payment_id: string;
          reason: string | null;
          requested_by: string | null;
          status: Database['public']['Enums']['refund_status'];
          stripe_refund_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: '*';
          to: 'refunds';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      link_stripe_customer: {
        Args: { p_stripe_customer_id: string; p_user_id: string };
        Returns: string;
      };
      link_stripe_refund: {
        Args: { p_refund_id: string; p_stripe_refund_id: string };
        Returns: {
          amount: number;
          created_at: string;
          currency: string;
          id: string;
          idempotency_key: string;
          order_id: string;
          payment_id: string;
          reason: string | null;
          requested_by: string | null;
          status: Database['public']['Enums']['refund_status'];
          stripe_refund_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: '*';
          to: 'refunds';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      list_dead_letters: {
        Args: { p_before_id?: number; p_limit?: number; p_topic?: string };
        Returns: {
          aggregate_id: string;
          aggregate_type: string;
          attempts: number;
          created_at: string;
          dead_since: string;
          id: number;
          last_error: string;
          order_number: string;
          topic: string;
        }[];
      };
      place_order: {
        Args: {
          p_billing_address?: Json;
          p_cart_id?: string;
          p_email?: string;
          p_idempotency_key: string;
          p_items?: Json;
          p_now?: string;
          p_reservation_ttl?: string;
          p_shipping_address?: Json;
        };
        Returns: {
          billing_address: Json | null;
          canceled_at: string | null;
          cart_id: string | null;
          created_at: string;
          currency: string;
          discount_amount: number;
          email: string;
          erp_status: Database['public']['Enums']['erp_status'];
          expired_at: string | null;
          expires_at: string;
          fulfillment_status: Database['public']['Enums']['fulfillment_status'];
          id: string;
          idempotency_key: string;
          number: string;
          paid_at: string | null;
          payment_status: Database['public']['Enums']['payment_status'];
          request_fingerprint: string | null;
          shipping_address: Json | null;
          shipping_amount: number;
          status: Database['public']['Enums']['order_status'];
          subtotal_amount: number;
          tax_amount: number;
          total_amount: number;
          tracking_number: string | null;
          updated_at: string;
          user_id: string | null;
          version: number;
        };
        SetofOptions: {
          from: '*';
          to: 'orders';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      receive_stripe_event: { Args: { p_event: Json }; Returns: Json };
      record_email_delivery: {
        Args: {
          p_now?: string;
          p_outbox_id: number;
          p_provider: string;
          p_provider_message_id: string;
          p_recipient: string;
          p_template: string;
        };
        Returns: boolean;
      };
      record_stripe_event_failure: { Args: { p_error: string; p_event: Json }; Returns: Json };
      replay_outbox_message: { Args: { p_id: number; p_now?: string }; Returns: Json };
      request_refund: {
        Args: {
          p_amount: number;
          p_idempotency_key?: string;
          p_order_id: string;
          p_reason?: string;
        };
        Returns: {
          amount: number;
          created_at: string;
          currency: string;
          id: string;
          idempotency_key: string;
          order_id: string;
          payment_id: string;
          reason: string | null;
          requested_by: string | null;
          status: Database['public']['Enums']['refund_status'];
          stripe_refund_id: string | null;
          updated_at: string;
        };
        SetofOptions: {
          from: '*';
          to: 'refunds';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      set_fulfillment_status: {
        Args: {
          p_order_id: string;
          p_status: Database['public']['Enums']['fulfillment_status'];
          p_tracking_number?: string;
        };
        Returns: {
          billing_address: Json | null;
          canceled_at: string | null;
          cart_id: string | null;
          created_at: string;
          currency: string;
          discount_amount: number;
          email: string;
          erp_status: Database['public']['Enums']['erp_status'];
          expired_at: string | null;
          expires_at: string;
          fulfillment_status: Database['public']['Enums']['fulfillment_status'];
          id: string;
          idempotency_key: string;
          number: string;
          paid_at: string | null;
          payment_status: Database['public']['Enums']['payment_status'];
          request_fingerprint: string | null;
          shipping_address: Json | null;
          shipping_amount: number;
          status: Database['public']['Enums']['order_status'];
          subtotal_amount: number;
          tax_amount: number;
          total_amount: number;
          tracking_number: string | null;
          updated_at: string;
          user_id: string | null;
          version: number;
        };
        SetofOptions: {
          from: '*';
          to: 'orders';
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      shop_settings: {
        Args: Record<PropertyKey, never>;
        Returns: {
          max_quantity_per_variant: number;
          max_unpaid_orders: number;
          reservation_ttl: string;
        }[];
      };
    };
    Enums: {
      cart_status: 'open' | 'converted' | 'abandoned';
      erp_status: 'not_synced' | 'queued' | 'synced' | 'failed' | 'dead';
      fulfillment_status: 'unfulfilled' | 'picking' | 'shipped' | 'delivered';
      movement_kind: 'receipt' | 'sale' | 'adjustment' | 'erp_sync' | 'return';
      order_status:
        | 'pending_payment'
        | 'paid'
        | 'fulfilling'
        | 'fulfilled'
        | 'completed'
        | 'expired'
        | 'canceled';
      payment_state: 'pending' | 'authorized' | 'succeeded' | 'failed' | 'canceled';
      payment_status:
        'unpaid' | 'authorized' | 'captured' | 'partially_refunded' | 'refunded' | 'failed';
      refund_status: 'pending' | 'succeeded' | 'failed' | 'canceled';
      reservation_status: 'active' | 'consumed' | 'released' | 'expired';
      staff_role: 'support' | 'warehouse' | 'finance' | 'admin';
    };
    CompositeTypes: {
      [_ in never]: never;
    };
  };
};

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>;

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, 'public'>];

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema['Tables'] & DefaultSchema['Views'])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables'] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Views'])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables'] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Views'])[TableName] extends {
      Row: infer R;
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema['Tables'] & DefaultSchema['Views'])
    ? (DefaultSchema['Tables'] & DefaultSchema['Views'])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R;
      }
      ? R
      : never
    : never;

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    keyof DefaultSchema['Tables'] | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables']
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables'][TableName] extends {
      Insert: infer I;
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema['Tables']
    ? DefaultSchema['Tables'][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I;
      }
      ? I
      : never
    : never;

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    keyof DefaultSchema['Tables'] | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables']
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions['schema']]['Tables'][TableName] extends {
      Update: infer U;
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema['Tables']
    ? DefaultSchema['Tables'][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U;
      }
      ? U
      : never
    : never;

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    keyof DefaultSchema['Enums'] | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions['schema']]['Enums']
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions['schema']]['Enums'][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema['Enums']
    ? DefaultSchema['Enums'][DefaultSchemaEnumNameOrOptions]
    : never;

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    keyof DefaultSchema['CompositeTypes'] | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions['schema']]['CompositeTypes']
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions['schema']]['CompositeTypes'][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema['CompositeTypes']
    ? DefaultSchema['CompositeTypes'][PublicCompositeTypeNameOrOptions]
    : never;

export const Constants = {
  public: {
    Enums: {
      cart_status: ['open', 'converted', 'abandoned'],
      erp_status: ['not_synced', 'queued', 'synced', 'failed', 'dead'],
      fulfillment_status: ['unfulfilled', 'picking', 'shipped', 'delivered'],
      movement_kind: ['receipt', 'sale', 'adjustment', 'erp_sync', 'return'],
      order_status: [
        'pending_payment',
        'paid',
        'fulfilling',
        'fulfilled',
        'completed',
        'expired',
        'canceled',
      ],
      payment_state: ['pending', 'authorized', 'succeeded', 'failed', 'canceled'],
      payment_status: [
        'unpaid',
        'authorized',
        'captured',
        'partially_refunded',
        'refunded',
        'failed',
      ],
      refund_status: ['pending', 'succeeded', 'failed', 'canceled'],
      reservation_status: ['active', 'consumed', 'released', 'expired'],
      staff_role: ['support', 'warehouse', 'finance', 'admin'],
    },
  },
} as const;
